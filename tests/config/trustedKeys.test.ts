import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { parseDeployConfig, trustedKeysFor } from "../../config/deploy";
import { TRUSTED_KEY_FIX } from "../../config/deploySpecs";
import { ConfigError } from "../../config/errors";
import { tempDir } from "../helpers/repo";

const SSH_HOST = {
  name: "web1",
  host: "203.0.113.10",
  port: 22,
  user: "deploy",
  hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey",
};
const base = { target: "ssh", deployRoot: "/srv/app" };
const hosts = (...hs: object[]) => JSON.stringify(hs);

/** An SSH wire-format string: its length, then its bytes. */
const wire = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);

/**
 * An ed25519 key made as an operator makes one: its public key as `openssl pkey -pubout -outform
 * DER | base64 -w0` prints it from the private key, its base64 SPKI DER as Node exports it, and
 * the same key as an ssh-ed25519 line (from its raw bytes, as the JWK holds them), which
 * ssh-keygen must accept as a key.
 */
function keyPair() {
  const dir = tempDir("ssot-key-");
  const run = (cmd: string) =>
    execFileSync("sh", ["-c", cmd], { cwd: dir, encoding: "utf8" }).trim();
  run("openssl genpkey -algorithm ed25519 -out attest.pem 2>/dev/null");
  const printed = run("openssl pkey -in attest.pem -pubout -outform DER | base64 -w0");
  const key = createPublicKey(fs.readFileSync(path.join(dir, "attest.pem")));
  const spki = key.export({ type: "spki", format: "der" }).toString("base64");
  const raw = Buffer.from(key.export({ format: "jwk" }).x!, "base64url");
  const blob = Buffer.concat([wire(Buffer.from("ssh-ed25519")), wire(raw)]);
  const ssh = `ssh-ed25519 ${blob.toString("base64")} op@laptop`;
  fs.writeFileSync(path.join(dir, "id.pub"), `${ssh}\n`);
  expect(run("ssh-keygen -l -f id.pub")).to.match(/^256 SHA256:\S+ op@laptop \(ED25519\)$/);
  fs.rmSync(dir, { recursive: true, force: true });
  return { spki, printed, ssh };
}

function problemsOf(raw: Record<string, string>): string[] {
  try {
    parseDeployConfig(raw, "/cwd");
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return (e as ConfigError).message.split("\n").slice(1);
  }
  throw new Error("expected a ConfigError");
}

describe("trustedKeys: the keys a server requires a release's provenance to be signed by", () => {
  const k = keyPair();

  it("reads the line the README's command prints, and the key's ssh-ed25519 line, as that key", () => {
    expect(k.printed).to.equal(k.spki);
    const c = parseDeployConfig(
      { ...base, hosts: hosts({ ...SSH_HOST, trustedKeys: [k.printed, k.ssh] }) },
      "/cwd",
    );
    expect(c.hosts[0].trustedKeys).to.deep.equal([k.spki, k.spki]);
  });

  it("gives a host its own list when it has one, else the stack's, and target local the stack's", () => {
    const other = keyPair();
    const c = parseDeployConfig(
      {
        ...base,
        trustedKeys: JSON.stringify([k.spki]),
        hosts: hosts(
          { ...SSH_HOST, trustedKeys: [other.spki] },
          { ...SSH_HOST, name: "web2" },
          { ...SSH_HOST, name: "web3", trustedKeys: [] },
        ),
      },
      "/cwd",
    );
    expect(c.hosts.map((h) => trustedKeysFor(c, h))).to.deep.equal([
      { keys: [other.spki], configPath: "hosts[0].trustedKeys" },
      { keys: [k.spki], configPath: "trustedKeys" },
      { keys: [], configPath: "hosts[2].trustedKeys" },
    ]);
    const local = parseDeployConfig(
      { target: "local", deployRoot: "srv/app", trustedKeys: JSON.stringify([k.ssh]) },
      "/cwd",
    );
    expect(trustedKeysFor(local, undefined)).to.deep.equal({
      keys: [k.spki],
      configPath: "trustedKeys",
    });
  });

  it("trusts no key by default", () => {
    const c = parseDeployConfig({ ...base, hosts: hosts(SSH_HOST) }, "/cwd");
    expect(trustedKeysFor(c, c.hosts[0])).to.deep.equal({ keys: [], configPath: "trustedKeys" });
  });

  const rule =
    "must be an ed25519 public key on one line: the base64 of its SPKI DER, or an ssh-ed25519 line";
  const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 })
    .publicKey.export({ type: "spki", format: "der" })
    .toString("base64");
  const priv = generateKeyPairSync("ed25519")
    .privateKey.export({ type: "pkcs8", format: "der" })
    .toString("base64");
  const cases: [string, string, string][] = [
    ["an RSA public key", rsa, "a rsa public key, not ed25519"],
    [
      "an ed25519 private key",
      priv,
      "base64 that is not a public key (SPKI DER); a private key is never pasted here",
    ],
    ["a PEM block", "-----BEGIN PUBLIC KEY-----", "not one line of base64"],
    [
      "an ssh-rsa line",
      "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ op@laptop",
      "an ssh-rsa line, not a well-formed ssh-ed25519 one",
    ],
  ];
  for (const [what, text, reason] of cases)
    it(`refuses ${what} as hosts[0].trustedKeys[1], naming the rule and the command that prints the stack's key`, () => {
      expect(
        problemsOf({ ...base, hosts: hosts({ ...SSH_HOST, trustedKeys: [k.spki, text] }) }),
      ).to.deep.equal([
        `- config key "ssot-deploy:hosts" ${rule} (got hosts[0].trustedKeys[1] = ${JSON.stringify(text)}: ${reason}). ` +
          `Fix: ${TRUSTED_KEY_FIX("hosts[0].trustedKeys[1]")}`,
      ]);
    });

  it("refuses a bad key of the stack's own list by its index", () => {
    expect(
      problemsOf({ ...base, hosts: hosts(SSH_HOST), trustedKeys: JSON.stringify(["x"]) }),
    ).to.deep.equal([
      `- config key "ssot-deploy:trustedKeys" ${rule} (got trustedKeys[0] = "x": base64 that is not a public key (SPKI DER); a private key is never pasted here). ` +
        `Fix: ${TRUSTED_KEY_FIX("trustedKeys[0]")}`,
    ]);
  });

  it("names the command that prints the stack's own public key in the fix", () => {
    expect(TRUSTED_KEY_FIX("hosts[0].trustedKeys[0]")).to.equal(
      "print the stack's own public key with pulumi config get attestationKey | openssl pkey -pubout -outform DER | base64 -w0 " +
        "(or take a key's ssh-ed25519 line), then pulumi config set --path 'hosts[0].trustedKeys[0]' <that line>",
    );
  });
});
