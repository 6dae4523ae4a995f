import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, createPublicKey } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { keyIdOf } from "../../evidence/dsse";
import { projectRoot } from "../../lib/paths";
import { signingKeyPair } from "../helpers/attest";
import { FixtureRepo, PY_TEST_COMMAND, tempDir } from "../helpers/repo";
import { engineStack } from "../helpers/stack";

const REQUIREMENTS = path.join(projectRoot(), "tests", "python", "requirements.txt");
const VERIFIER = path.join(projectRoot(), "tests", "python", "verify_intoto.py");

/**
 * A virtualenv holding the verifier's packages from PyPI (securesystemslib, the in-toto
 * attestation bindings), made once per version of requirements.txt under .ssot-deploy/.
 */
function verifierPython(): string {
  const dir = path.join(projectRoot(), ".ssot-deploy", "verifiers", "python");
  const python = path.join(dir, "bin", "python");
  const want = createHash("sha256").update(fs.readFileSync(REQUIREMENTS)).digest("hex");
  const stamp = path.join(dir, "requirements.sha256");
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === want) return python;
  fs.rmSync(dir, { recursive: true, force: true });
  execFileSync("python3", ["-m", "venv", dir]);
  execFileSync(
    python,
    ["-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", REQUIREMENTS],
    {
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  fs.writeFileSync(stamp, want);
  return python;
}

describe("the in-toto bundle beside each report, checked by a verifier this project did not write", function () {
  this.timeout(300_000);
  const signer = signingKeyPair();
  const held = engineStack();
  let repo: FixtureRepo;
  let work: string;
  let python: string;
  let bundle: string;
  let pub: string;
  let subject: { name: string; sha256: string };

  before(async () => {
    python = verifierPython();
    repo = FixtureRepo.create();
    work = tempDir();
    const run = await held.stack.up({
      repo: repo.dir,
      testCommand: PY_TEST_COMMAND,
      workDir: path.join(work, "local"),
      target: "local",
      deployRoot: path.join(work, "server", "app"),
      reportDir: path.join(work, "reports"),
      attestationKey: signer.privateKey,
    });
    expect(run.error, run.error?.message).to.equal(undefined);
    bundle = run.outputs!.report.replace(/\.md$/, ".intoto.jsonl");
    pub = path.join(work, "attest.pub");
    fs.writeFileSync(pub, signer.publicKey);
    subject = {
      name: path.basename(run.outputs!.artifact.path),
      sha256: run.outputs!.artifact.sha256,
    };
    expect(fs.readFileSync(run.outputs!.report, "utf8")).to.contain(
      `in-toto bundle (one DSSE envelope a line): ${bundle}`,
    );
  });
  after(() => {
    repo?.remove();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const verify = (file: string) => spawnSync(python, [VERIFIER, file, pub], { encoding: "utf8" });

  it("verifies every envelope's signature with securesystemslib, and each statement and predicate against the framework's schema", () => {
    const r = verify(bundle);
    expect(r.status, r.stderr).to.equal(0);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const keyid = keyIdOf(createPublicKey(signer.publicKey));
    expect(lines).to.deep.equal([
      {
        line: 1,
        predicateType: "https://slsa.dev/provenance/v1",
        keyid,
        subject: [subject],
        schema: true,
      },
      {
        line: 2,
        predicateType: "https://in-toto.io/attestation/test-result/v0.1",
        keyid,
        subject: [subject],
        schema: true,
      },
      {
        line: 3,
        predicateType: "urn:ssot-deploy:predicate:deploy:v1",
        keyid,
        subject: [subject],
        schema: false,
      },
    ]);
  });

  it("fails a bundle whose statement changed by one byte, or that another key signed", () => {
    const lines = fs.readFileSync(bundle, "utf8").trim().split("\n");
    const env = JSON.parse(lines[2]) as { payload: string };
    const payload = Buffer.from(env.payload, "base64")
      .toString("utf8")
      .replace('"switched"', '"switchee"');
    expect(payload).to.contain('"switchee"');
    const altered = path.join(work, "altered.intoto.jsonl");
    fs.writeFileSync(
      altered,
      [
        lines[0],
        lines[1],
        JSON.stringify({ ...env, payload: Buffer.from(payload).toString("base64") }),
      ].join("\n"),
    );
    const r = verify(altered);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.match(/^line 3: VerificationError/);
    fs.writeFileSync(pub, signingKeyPair().publicKey);
    try {
      const other = verify(bundle);
      expect(other.status).to.equal(1);
      expect(other.stderr).to.match(/^line 1: VerificationError/);
    } finally {
      fs.writeFileSync(pub, signer.publicKey);
    }
  });
});
