import { expect } from "chai";
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BuiltArtifact } from "../../gates/artifact/build";
import { SourceConfig } from "../../config/source";
import { releaseStatements } from "../../evidence/hostRecords";
import { evidenceToKeep, openKeptEvidence } from "../../evidence/kept";

const COMMIT = "0123456789ab".padEnd(40, "c");
const TAR = "89abcdef".padEnd(64, "d");
const ID = `${COMMIT.slice(0, 12)}-${TAR.slice(0, 8)}`;
const build: BuiltArtifact = {
  releaseId: ID,
  commit: COMMIT,
  tree: "e".repeat(40),
  sha256: "a".repeat(64),
  tarSha256: TAR,
  bytes: 100,
  unpackedBytes: 200,
  files: 6,
  manifestSha256: "f".repeat(64),
  path: `/work/${ID}.tar.gz`,
  manifestPath: "",
  linksPath: "",
  detail: "",
};
const source = {
  repo: "/srv/repo",
  ref: "HEAD",
  branch: "main",
  testCommand: "make test",
  testTimeoutSeconds: 900,
  exclude: [],
  workDir: "/work",
  reportDir: "/reports",
} satisfies SourceConfig;
const run = {
  stack: "contabo",
  invocationId: "i-1",
  startedOn: "2026-12-01T10:00:00Z",
  finishedOn: "2026-12-01T10:01:00Z",
  operator: "ops@laptop",
  toolVersion: "0.1.0",
};
const statements = releaseStatements(
  {
    build,
    source,
    sourceUri: "git+file:///srv/repo",
    tests: { command: "make test", passed: 3, failed: 0, skipped: 1, total: 4, cached: false },
    builtOn: "2026-12-01T10:01:00Z",
  },
  run,
);
const key = generateKeyPairSync("ed25519").privateKey;

describe("the evidence kept beside a release", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssot-kept-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("opens, with the key that signed it, to the facts a rollback needs", () => {
    const text = evidenceToKeep(path.join(dir, `${ID}.intoto.jsonl`), statements, key, false);
    const facts = openKeptEvidence(text, ID, key);
    expect(facts).to.deep.include({
      releaseId: ID,
      commit: COMMIT,
      sha256: build.sha256,
      tarSha256: TAR,
      manifestSha256: build.manifestSha256,
      artifactName: `${ID}.tar.gz`,
      firstDeployed: run.startedOn,
      passed: true,
    });
    expect(facts).to.have.deep.property("tests", {
      command: "make test",
      passed: 3,
      failed: 0,
      skipped: 1,
      total: 4,
      cached: true,
    });
  });

  it("is written once and then reused, so a re-deploy declares the same text", () => {
    const file = path.join(dir, `${ID}.intoto.jsonl`);
    const first = evidenceToKeep(file, statements, key, true);
    const again = evidenceToKeep(file, [...statements].reverse(), key, true);
    expect(again).to.equal(first);
    expect(fs.readFileSync(file, "utf8")).to.equal(first);
  });

  it("is not trusted under another release's id, another key, or with a byte changed", () => {
    const text = evidenceToKeep(path.join(dir, "x"), statements, key, false);
    expect(openKeptEvidence(text, "0123456789ab-00000000", key)).to.deep.equal({
      reason: `its provenance is of commit 0123456789ab, tar 89abcdef, not of release 0123456789ab-00000000`,
    });
    const other = generateKeyPairSync("ed25519").privateKey;
    expect(openKeptEvidence(text, ID, other))
      .to.have.property("reason")
      .that.match(/^no signature by key /);
    const [provenance, line] = text.trim().split("\n");
    const env = JSON.parse(line) as { payload: string };
    const payload = Buffer.from(env.payload, "base64").toString("utf8").replace("PASSED", "FAILED");
    const changed = JSON.stringify({ ...env, payload: Buffer.from(payload).toString("base64") });
    expect(openKeptEvidence([provenance, changed].join("\n"), ID, key))
      .to.have.property("reason")
      .that.match(/does not verify$/);
    expect(openKeptEvidence("not json\n", ID, key)).to.deep.equal({
      reason: "it is not a list of DSSE envelopes",
    });
  });
});
