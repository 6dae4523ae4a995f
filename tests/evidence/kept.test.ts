import { expect } from "chai";
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BuiltArtifact } from "../../gates/artifact/build";
import { SourceConfig } from "../../config/source";
import { releaseStatements } from "../../evidence/hostRecords";
import { evidenceToKeep, openKeptEvidence } from "../../evidence/kept";
import { signEnvelope } from "../../evidence/dsse";
import { canonicalJson } from "../../evidence/jcs";
import { PROVENANCE_TYPE, Statement } from "../../evidence/statements";

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
  linksSha256: "1".repeat(64),
  entriesSha256: "2".repeat(64),
  path: `/work/${ID}.tar.gz`,
  manifestPath: "",
  linksPath: "",
  entriesPath: "",
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
  project: "ssot-deploy",
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
    changeSet: { scan: { scanned: 6, skipped: 1, findings: 0 } },
  },
  run,
);
const key = generateKeyPairSync("ed25519").privateKey;
const OWNER = { project: "ssot-deploy", stack: "contabo" };

/** The kept text of `statements`, each changed by `edit` first, signed with `key`. */
function signedText(edit: (s: Statement) => void = () => undefined): string {
  const copies = statements.map((s) => JSON.parse(JSON.stringify(s)) as Statement);
  copies.forEach(edit);
  return copies
    .map((c) => JSON.stringify(signEnvelope(Buffer.from(canonicalJson(c), "utf8"), key)))
    .join("\n");
}

describe("the evidence kept beside a release", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssot-kept-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("opens, with the key that signed it, to the facts a rollback needs", () => {
    const text = evidenceToKeep(path.join(dir, `${ID}.intoto.jsonl`), statements, key, false);
    const facts = openKeptEvidence(text, ID, key, OWNER);
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
    expect(openKeptEvidence(text, "0123456789ab-00000000", key, OWNER)).to.deep.equal({
      reason: `its provenance is of commit 0123456789ab, tar 89abcdef, not of release 0123456789ab-00000000`,
    });
    const other = generateKeyPairSync("ed25519").privateKey;
    expect(openKeptEvidence(text, ID, other, OWNER))
      .to.have.property("reason")
      .that.match(/^no signature by key /);
    const [provenance, line] = text.trim().split("\n");
    const env = JSON.parse(line) as { payload: string };
    const payload = Buffer.from(env.payload, "base64").toString("utf8").replace("PASSED", "FAILED");
    const changed = JSON.stringify({ ...env, payload: Buffer.from(payload).toString("base64") });
    expect(openKeptEvidence([provenance, changed].join("\n"), ID, key, OWNER))
      .to.have.property("reason")
      .that.match(/does not verify$/);
  });

  it("opens to the digests of the manifest, the links file and the entries list, its project and stack, and its secret scan", () => {
    const facts = openKeptEvidence(signedText(), ID, key, OWNER);
    expect(facts).to.deep.include({
      manifestSha256: build.manifestSha256,
      linksSha256: build.linksSha256,
      entriesSha256: build.entriesSha256,
      project: "ssot-deploy",
      stack: "contabo",
      scan: { scanned: 6, skipped: 1, findings: 0 },
    });
  });

  it("is not trusted by another stack or project, even signed with the same key, naming both", () => {
    const text = signedText();
    expect(
      openKeptEvidence(text, ID, key, { project: "ssot-deploy", stack: "staging" }),
    ).to.deep.equal({
      reason:
        "it was signed for project ssot-deploy, stack contabo, not for this one (project ssot-deploy, stack staging)",
    });
    expect(openKeptEvidence(text, ID, key, { project: "other", stack: "contabo" })).to.deep.equal({
      reason:
        "it was signed for project ssot-deploy, stack contabo, not for this one (project other, stack contabo)",
    });
  });

  it("is not trusted when its provenance names no stack, or does not cover the links file and the entries list", () => {
    const params = (s: Statement) =>
      (s.predicate.buildDefinition as { internalParameters: Record<string, unknown> })
        .internalParameters;
    const byproducts = (s: Statement) =>
      (s.predicate.runDetails as { byproducts: { name: string }[] }).byproducts;
    const unnamed = signedText((s) => {
      if (s.predicateType === PROVENANCE_TYPE) delete params(s).stack;
    });
    expect(openKeptEvidence(unnamed, ID, key, OWNER)).to.deep.equal({
      reason:
        "its provenance names no project and stack (it was signed by an earlier version), so any stack signed with this key could have made it",
    });
    const uncovered = signedText((s) => {
      if (s.predicateType === PROVENANCE_TYPE)
        byproducts(s).splice(0, byproducts(s).length, ...byproducts(s).slice(0, 2));
    });
    expect(openKeptEvidence(uncovered, ID, key, OWNER)).to.deep.equal({
      reason:
        "its provenance does not cover the release's links file and entries list (it was signed by an earlier version), so an entry added on the server would go unseen",
    });
  });

  it("refuses a malformed envelope with the exact fault, never a TypeError", () => {
    const [line] = signedText().split("\n");
    const env = JSON.parse(line) as Record<string, unknown>;
    const sigs = env.signatures as Record<string, unknown>[];
    const shapes: [string, string][] = [
      ["not json\n", "line 1 is not JSON"],
      ["", "it holds no DSSE envelope"],
      ["null", "line 1: it is null, not a DSSE envelope (an object)"],
      ["[1]", "line 1: it is a list, not a DSSE envelope (an object)"],
      [
        JSON.stringify({ ...env, signatures: [null] }),
        "line 1: its signatures[0] is null, not an object",
      ],
      [JSON.stringify({ ...env, signatures: null }), "line 1: its signatures are null"],
      [JSON.stringify({ ...env, payload: undefined }), "line 1: its payload is missing"],
      [JSON.stringify({ ...env, payload: "%%%" }), "line 1: its payload is not base64"],
      [JSON.stringify({ ...env, payloadType: 7 }), "line 1: its payloadType is a number"],
      [
        JSON.stringify({ ...env, signatures: [{ ...sigs[0], sig: 12 }] }),
        "line 1: its signatures[0].sig is a number",
      ],
      [
        JSON.stringify({ ...env, signatures: [{ sig: sigs[0].sig }] }),
        "line 1: its signatures[0].keyid is missing",
      ],
      [`${line}\n{"payload":`, "line 2 is not JSON"],
    ];
    for (const [text, fault] of shapes)
      expect(openKeptEvidence(text, ID, key, OWNER), text).to.deep.equal({
        reason: `it is not a list of DSSE envelopes: ${fault}`,
      });
  });

  it("refuses a payload signed by the key that is not a statement", () => {
    const env = signEnvelope(Buffer.from("[1,2]"), key);
    expect(openKeptEvidence(JSON.stringify(env), ID, key, OWNER)).to.deep.equal({
      reason: "envelope 1's payload is not an in-toto statement",
    });
  });
});

describe("the evidence a deploy keeps, when this machine holds an earlier text", () => {
  it("signs afresh a text a rollback would not trust, and reuses one it would", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssot-kept-"));
    try {
      const file = path.join(dir, `${ID}.intoto.jsonl`);
      const trusted = (text: string) => !("reason" in openKeptEvidence(text, ID, key, OWNER));
      // An earlier version's text: signed by the key, but naming no stack.
      const old = signedText((s) => {
        if (s.predicateType === PROVENANCE_TYPE)
          delete (s.predicate.buildDefinition as { internalParameters: Record<string, unknown> })
            .internalParameters.stack;
      });
      fs.writeFileSync(file, old);
      const fresh = evidenceToKeep(file, statements, key, true, trusted);
      expect(fresh).to.not.equal(old);
      expect(trusted(fresh)).to.equal(true);
      expect(evidenceToKeep(file, statements, key, true, trusted)).to.equal(fresh);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
