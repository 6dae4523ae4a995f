import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { createHash, KeyObject } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from "../../evidence/dsse";
import { canonicalJson } from "../../evidence/jcs";
import { PROVENANCE_TYPE, STATEMENT_TYPE, TEST_RESULT_TYPE } from "../../evidence/statements";
import {
  EVIDENCE_TYPES,
  keyIdOfSpki,
  parseSignature,
  SIGNATURE_NOT_CHECKED,
  signatureScript,
  VERIFIER,
} from "../../remote/signature";
import { blockedLine, keyValues } from "../../remote/sh";
import { testSigner } from "../helpers/release";
import { tempDir } from "../helpers/repo";

const ID = "0123456789ab-cdef0123";
const TOKEN = "op@laptop:/work/deploy:test";
const NEXT = "upload it again: pulumi up --replace 'urn:x'";
const UPLOAD = "the artifact's bytes";
const SHA = createHash("sha256").update(UPLOAD).digest("hex");

/** A statement of `type` about the artifact named `name` with digest `sha256`. */
const statement = (type: string, sha256: string, predicate: object = {}) => ({
  _type: STATEMENT_TYPE,
  subject: [{ name: `${ID}.tar.gz`, digest: { sha256 } }],
  predicateType: type,
  predicate,
});

/** Evidence as the stage step keeps it: each statement a signed DSSE envelope, one a line. */
const evidence = (key: KeyObject, ...statements: object[]) =>
  statements
    .map((s) => JSON.stringify(signEnvelope(Buffer.from(canonicalJson(s), "utf8"), key)))
    .join("\n")
    .concat("\n");

describe("the Signature step's script, as text", () => {
  const [a, b] = [testSigner(), testSigner()];
  const text = (keys: string[]) =>
    signatureScript({
      root: "/srv/app",
      releaseId: ID,
      trustedKeys: keys,
      configPath: "trustedKeys",
      lockToken: TOKEN,
      missingUpload: NEXT,
    });

  it("reads a step that did not run (the host trusts no key) as not checked", () => {
    expect(parseSignature("")).to.equal(SIGNATURE_NOT_CHECKED);
  });

  it("is the same text for the same inputs, so an unchanged stack's transaction stays unchanged", () => {
    expect(text([a.spki, b.spki])).to.equal(text([a.spki, b.spki]));
  });

  it("writes each trusted key, and only those besides its fixed probe key, as a public key", () => {
    const keys = [
      ...text([a.spki, b.spki]).matchAll(/'-----BEGIN PUBLIC KEY-----' '([^']+)'/g),
    ].map((m) => m[1]);
    expect(keys.slice(1)).to.deep.equal([a.spki, b.spki]);
    expect(keys).to.have.length(3);
    expect(text([a.spki, b.spki])).to.not.contain("PRIVATE");
  });
});

describe("the Signature step's script, run with sh on this machine", () => {
  const [a, b] = [testSigner(), testSigner()];
  let root: string;
  const ev = () => path.join(root, ".deploy", "manifests", `${ID}.intoto.jsonl`);

  beforeEach(() => {
    root = path.join(tempDir("ssot-sig-"), "app");
    fs.mkdirSync(path.join(root, ".deploy", "uploads"), { recursive: true });
    fs.mkdirSync(path.join(root, ".deploy", "manifests"));
    fs.mkdirSync(path.join(root, ".deploy", "lock"));
    fs.writeFileSync(path.join(root, ".deploy", "lock", "info"), `token=${TOKEN}\n`);
    fs.writeFileSync(path.join(root, ".deploy", "uploads", `${ID}.tar.gz`), UPLOAD);
  });

  /** Runs the step trusting `keys`, with `env` for the shell: its status, its values, its refusal. */
  function check(keys: string[], env: NodeJS.ProcessEnv = process.env) {
    const text = signatureScript({
      root,
      releaseId: ID,
      trustedKeys: keys,
      configPath: "hosts[0].trustedKeys",
      lockToken: TOKEN,
      missingUpload: NEXT,
    });
    const r = spawnSync("sh", ["-s"], { input: text, encoding: "utf8", env });
    return {
      code: r.status,
      stdout: r.stdout,
      kv: keyValues(r.stdout),
      blocked: blockedLine(r.stdout),
    };
  }

  it("reads the same payload type, statement type and provenance type as the evidence is written with", () => {
    expect(EVIDENCE_TYPES).to.deep.equal({
      payload: IN_TOTO_PAYLOAD_TYPE,
      statement: STATEMENT_TYPE,
      provenance: PROVENANCE_TYPE,
    });
  });

  it("tries every trusted key, and names the one whose signature verified", () => {
    fs.writeFileSync(ev(), evidence(b.privateKey, statement(PROVENANCE_TYPE, SHA)));
    const r = check([a.spki, b.spki]);
    expect(r.code, r.blocked).to.equal(0);
    expect(parseSignature(r.stdout)).to.equal(
      `verified on the server: key ${keyIdOfSpki(b.spki).slice(0, 16)}… signed the provenance of sha256 ${SHA}`,
    );
    expect(r.kv).to.deep.equal({
      signature: "verified",
      signature_key: keyIdOfSpki(b.spki),
      signature_sha256: SHA,
    });
  });

  const unnamed = () =>
    `no provenance statement in ${ev()} names this artifact (sha256 ${SHA}, recomputed on this server from ` +
    `${root}/.deploy/uploads/${ID}.tar.gz) as its subject: the upload or the evidence was changed; current was not switched; ` +
    `remove ${ev()}, then run pulumi up from the machine that holds a trusted signing key (attestationKey), which signs the release again`;

  it("does not count the artifact's digest anywhere but as the provenance's subject", () => {
    const other = "e".repeat(64);
    fs.writeFileSync(
      ev(),
      evidence(
        a.privateKey,
        statement(PROVENANCE_TYPE, other, { note: { sha256: SHA }, name: `${ID}.tar.gz` }),
      ),
    );
    expect(check([a.spki]).blocked).to.equal(unnamed());
  });

  it("does not take a signed statement of another type (a test result) for the provenance", () => {
    fs.writeFileSync(ev(), evidence(a.privateKey, statement(TEST_RESULT_TYPE, SHA)));
    expect(check([a.spki]).blocked).to.equal(unnamed());
  });

  it("recomputes the digest from the upload: an upload changed since it was signed is refused", () => {
    fs.writeFileSync(ev(), evidence(a.privateKey, statement(PROVENANCE_TYPE, SHA)));
    fs.appendFileSync(path.join(root, ".deploy", "uploads", `${ID}.tar.gz`), "!");
    const got = createHash("sha256").update(`${UPLOAD}!`).digest("hex");
    expect(check([a.spki]).blocked).to.equal(unnamed().replace(`sha256 ${SHA}`, `sha256 ${got}`));
  });

  it("refuses when the upload is gone, naming the next action it was given", () => {
    fs.rmSync(path.join(root, ".deploy", "uploads", `${ID}.tar.gz`));
    expect(check([a.spki]).blocked).to.equal(
      `the upload ${root}/.deploy/uploads/${ID}.tar.gz of release ${ID} is not on this server, so its sha256 ` +
        `cannot be checked against a signed provenance; current was not switched; ${NEXT}`,
    );
  });

  describe("on a server whose openssl cannot check it", () => {
    let bin: string;
    beforeEach(() => {
      // Every command of this machine's PATH but openssl, and the stand-in a test adds.
      bin = tempDir("ssot-bin-");
      const linked = new Set<string>();
      for (const dir of (process.env.PATH ?? "").split(":"))
        for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
          // The first directory of PATH that holds a command wins, as the shell finds it.
          if (f === "openssl" || linked.has(f)) continue;
          linked.add(f);
          fs.symlinkSync(path.join(dir, f), path.join(bin, f));
        }
      fs.writeFileSync(ev(), evidence(a.privateKey, statement(PROVENANCE_TYPE, SHA)));
    });
    afterEach(() => fs.rmSync(bin, { recursive: true, force: true }));

    it("refuses without openssl, naming the gap and both ways out", () => {
      expect(check([a.spki], { PATH: bin }).blocked).to.equal(
        `this server has no openssl, so it cannot check the release's signature (${VERIFIER}); current was not switched; ` +
          "install OpenSSL 1.1.1 or later on the server (apt-get install -y openssl), or remove hosts[0].trustedKeys " +
          "to deploy without the check (pulumi config rm --path 'hosts[0].trustedKeys')",
      );
    });

    it("refuses with an openssl older than 1.1.1 (no -rawin), naming its version", () => {
      fs.writeFileSync(
        path.join(bin, "openssl"),
        '#!/bin/sh\nif [ "$1" = version ]; then echo "OpenSSL 1.1.0l  10 Sep 2019"; exit 0; fi\n' +
          'echo "pkeyutl: Unrecognized flag rawin" >&2; exit 1\n',
        { mode: 0o755 },
      );
      expect(check([a.spki], { PATH: bin }).blocked).to.equal(
        `OpenSSL 1.1.0l  10 Sep 2019 on this server cannot verify an ed25519 signature (${VERIFIER} needs OpenSSL 1.1.1 or later), ` +
          "so it cannot check the release's signature; current was not switched; install OpenSSL 1.1.1 or later on the server, " +
          "or remove hosts[0].trustedKeys to deploy without the check (pulumi config rm --path 'hosts[0].trustedKeys')",
      );
    });
  });
});
