import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import * as yaml from "js-yaml";
import { projectRoot } from "../../lib/paths";
import { expectVerified, signingKeyPair } from "../helpers/attest";
import { EngineRun } from "../../testbed/events";
import { engineStack, sshStackConfig, sshSuite } from "../helpers/stack";

/** The key under which the engine's state marks a special value, and the mark of a secret. */
const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const PASSPHRASE = "correct horse battery staple 4417";

/** The settings Pulumi.yaml declares secret. */
function secretKeys(): string[] {
  const project = yaml.load(fs.readFileSync(path.join(projectRoot(), "Pulumi.yaml"), "utf8")) as {
    config: Record<string, { secret?: boolean }>;
  };
  return Object.entries(project.config)
    .filter(([, d]) => d.secret === true)
    .map(([k]) => k);
}

/** Every file under a directory, as text; a gzipped one (the backend may write them) unzipped. */
function filesUnder(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const p = path.join(e.parentPath, e.name);
    if (!e.isFile()) continue;
    const bytes = fs.readFileSync(p);
    const gzipped = bytes[0] === 0x1f && bytes[1] === 0x8b;
    // latin1: binary files too, where a key would show as its bytes.
    out.set(p, (gzipped ? gunzipSync(bytes) : bytes).toString("latin1"));
  }
  return out;
}

/**
 * What must never be seen: each secret whole, and base64-encoded whole (an encoding is not
 * encryption), and each line of a key's body.
 */
function needles(secrets: string[]): string[] {
  const body = (pem: string) =>
    pem
      .split("\n")
      .filter((l) => l.length >= 16 && !l.startsWith("-----"))
      .map((l) => l.trim());
  return secrets.flatMap((s) => [s.trim(), Buffer.from(s).toString("base64"), ...body(s)]);
}

/** Every value the engine wrapped as a secret in a state, by the path it sits at. */
function secretsIn(value: unknown, at = ""): Map<string, Record<string, unknown>> {
  const found = new Map<string, Record<string, unknown>>();
  if (value !== null && typeof value === "object") {
    const v = value as Record<string, unknown>;
    if (v[SIG] === SECRET_SIG) found.set(at, v);
    else
      for (const [k, v] of Object.entries(value))
        for (const [p, s] of secretsIn(v, `${at}.${k}`)) found.set(p, s);
  }
  return found;
}

/**
 * Every string in a state that `pulumi stack export --show-secrets` printed, each secret's
 * plaintext (a JSON text, in which a secret may nest another) decoded first.
 */
function stringsIn(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (value === null || typeof value !== "object") return [];
  const v = value as Record<string, unknown>;
  if (v[SIG] === SECRET_SIG && typeof v.plaintext === "string")
    return stringsIn(JSON.parse(v.plaintext));
  return Object.values(v).flatMap(stringsIn);
}

interface StateResource {
  urn: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

describe("secrets never reach an output, a report, a log line, the settings or the recorded state", function () {
  this.timeout(180_000);
  const suite = sshSuite({ passphrase: PASSPHRASE });
  const held = engineStack();
  const signer = signingKeyPair();

  it("deploys with a passphrase-protected key and a signing key: every secret is ciphertext in the settings, the SSH connection ciphertext in the state, and none appears anywhere else", async () => {
    expect(suite.sshd.userKey.privateKey).to.contain("BEGIN OPENSSH PRIVATE KEY");
    const config = sshStackConfig(suite.repo.dir, suite.work, suite.sshd, {
      sshPassphrase: PASSPHRASE,
      attestationKey: signer.privateKey,
    });
    const runs: EngineRun[] = [];
    runs.push(await held.stack.preview(config));
    for (const v of ["v1", "v2"]) {
      if (v === "v2") suite.repo.commit("v2", { "app/extra.py": "X = 2\n" });
      const up = await held.stack.up(config);
      runs.push(up);
      if (up.outputs) await expectVerified(up.outputs, config, signer.publicKey);
    }
    // A blocked run too: its report and error text are searched like the rest.
    fs.appendFileSync(path.join(suite.root, "current", "app", "extra.py"), "# edit\n");
    runs.push(await held.stack.up(config));
    expect(
      runs.map((r) => r.code),
      runs.map((r) => r.error?.message ?? "").join("\n"),
    ).to.deep.equal([0, 0, 0, 1]);
    expect(runs[3].error!.message).to.contain("FINAL RESULT: BLOCKED_WITH_EXACT_GAP");
    expect(runs[2].outputs!.attestation.envelopes).to.have.length(3);

    // The settings file holds each secret as ciphertext, which the CLI decrypts to the value.
    const settings = yaml.load(fs.readFileSync(held.stack.configFile, "utf8")) as {
      config: Record<string, unknown>;
    };
    // Every secret Pulumi.yaml declares is set here, so each is checked and searched for.
    const secrets = secretKeys();
    expect(secrets.sort()).to.deep.equal(
      Object.keys(config)
        .filter((k) => secrets.includes(k))
        .sort(),
    );
    for (const k of secrets) {
      expect(settings.config[`ssot-deploy:${k}`], k).to.have.keys("secure");
      const got = await held.stack.stack.must(["config", "get"], [k], { config: true });
      expect(got.stdout.trim(), k).to.equal(config[k].trim());
    }

    // The state holds each SSH connection (its key and passphrase in it) as ciphertext, which
    // the engine reveals only when asked to: the key reached the state, and the search below is
    // not vacuous.
    const exported = await held.stack.exportState();
    const state = JSON.parse(exported) as { deployment: { resources: StateResource[] } };
    for (const name of ["web1-deploy", "web1-release-upload"]) {
      const r = state.deployment.resources.find((x) => x.urn.endsWith(`::${name}`))!;
      const wrapped = secretsIn({ inputs: r.inputs, outputs: r.outputs });
      expect([...wrapped.keys()], name).to.include.members([
        ".inputs.connection",
        ".outputs.connection",
      ]);
      for (const [at, s] of wrapped) expect(s, `${name}${at}`).to.have.keys(SIG, "ciphertext");
    }
    const shown = await held.stack.stack.must(["stack", "export"], ["--show-secrets"]);
    const revealed = stringsIn(JSON.parse(shown.stdout));
    // `pulumi config set` read the key from stdin and dropped its final newline.
    expect(revealed).to.include.members([suite.sshd.userKey.privateKey.trim(), PASSPHRASE]);

    const haystacks = new Map<string, string>([
      ["outputs", JSON.stringify(runs.map((r) => r.outputs ?? null))],
      ["stdout", runs.map((r) => r.stdout).join("\n")],
      ["stderr", runs.map((r) => r.stderr).join("\n")],
      ["diagnostics", JSON.stringify(runs.map((r) => r.diagnostics))],
      ["pulumi stack export", exported],
      // The settings file and the file backend: the state, its history and its backups.
      ...filesUnder(held.stack.dir),
      ...filesUnder(path.join(suite.work, "reports")),
      ...filesUnder(path.join(suite.work, "srv")),
      ...filesUnder(path.join(suite.work, "local")),
    ]);
    const backend = [...haystacks.keys()].filter((k) => k.startsWith(held.stack.backendDir));
    expect(
      backend.some((k) => new RegExp(`"${SIG}":\\s*"${SECRET_SIG}"`).test(haystacks.get(k)!)),
    ).to.equal(true);
    // One report per program run: the preview, each up's preview and update, and the blocked
    // up's preview, where it stopped; beside the report of each signed update, its in-toto bundle.
    const written = [...haystacks.keys()].filter((k) =>
      k.startsWith(path.join(suite.work, "reports")),
    );
    expect(written.filter((k) => k.endsWith(".md"))).to.have.length(6);
    expect(written.filter((k) => k.endsWith(".intoto.jsonl"))).to.have.length(2);
    const leaks: string[] = [];
    for (const needle of needles([suite.sshd.userKey.privateKey, PASSPHRASE, signer.privateKey]))
      for (const [where, text] of haystacks)
        if (text.includes(needle)) leaks.push(`${where}: ${needle.slice(0, 12)}…`);
    expect(leaks).to.deep.equal([]);
  });
});
