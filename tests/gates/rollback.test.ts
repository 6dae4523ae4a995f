import { expect } from "chai";
import { judgeKept, KeptCopy, KeptFacts } from "../../gates/rollback";

const ID = "0123456789ab-01234567";
const FACTS: KeptFacts = {
  releaseId: ID,
  commit: "0123456789ab".padEnd(40, "0"),
  tree: "f".repeat(40),
  artifactName: `${ID}.tar.gz`,
  sha256: "a".repeat(64),
  tarSha256: "01234567".padEnd(64, "0"),
  manifestSha256: "m".repeat(64),
  linksSha256: "l".repeat(64),
  entriesSha256: "e".repeat(64),
  project: "ssot-deploy",
  stack: "contabo",
  sourceUri: "git+file:///srv/repo",
  firstDeployed: "2026-12-01T10:00:00Z",
  tests: { command: "make test", passed: 3, failed: 0, skipped: 0, total: 3, cached: true },
  passed: true,
  text: "{}\n",
};
const COPY: KeptCopy = {
  state: "present",
  manifestSha256: FACTS.manifestSha256,
  linksSha256: FACTS.linksSha256,
  entriesSha256: FACTS.entriesSha256,
  uncovered: { named: [], count: 0 },
  excluded: { named: [], count: 0 },
  live: false,
  files: 6,
  proved: true,
  evidence: "{}\n",
  candidates: [ID, "bbbbbbbbbbbb-22222222"],
};
const judge = (copy: Partial<KeptCopy>, facts: Partial<KeptFacts> | { reason: string } = {}) =>
  judgeKept(
    "web1",
    ID,
    { ...COPY, ...copy },
    () => ("reason" in facts ? facts : { ...FACTS, ...facts }),
    "contabo",
  );

describe("judging a host's copy of the release a rollback names", () => {
  it("takes a copy that is staged, verified, proved and kept with trusted evidence about its own manifest", () => {
    expect(judge({})).to.deep.equal(FACTS);
  });

  it("refuses a copy with no evidence kept, offering the other releases and the way back by commit", () => {
    const r = judge({ evidence: undefined });
    expect(r).to.deep.equal({
      gap: `release ${ID} on web1 has no evidence kept with it (deployed without attestationKey, or before evidence was kept)`,
      next:
        "releases this stack can roll back to on web1: bbbbbbbbbbbb-22222222 (npm run status -- --stack contabo shows them); pulumi config set release <one of them>" +
        "; or roll back by commit, which tests and builds again: pulumi config set release '' && pulumi config set ref <commit>",
    });
  });

  it("refuses a manifest that is not the one the provenance names, and says so when no other release can be taken", () => {
    const r = judge({ manifestSha256: "e".repeat(64), candidates: [ID] });
    expect(r).to.have.property(
      "gap",
      `the manifest of release ${ID} on web1 (sha256 ${"e".repeat(64)}) is not the one its provenance names (${FACTS.manifestSha256})`,
    );
    expect((r as { next: string }).next).to.match(
      /^inspect it \(it is evidence, and is never switched to\); no other release on web1 can be rolled back to without testing; /,
    );
  });

  it("refuses evidence whose signature does not hold, and a test result that is not PASSED", () => {
    expect(judge({}, { reason: "no signature by key 0011…" })).to.have.property(
      "gap",
      `the evidence kept with release ${ID} on web1 is not trusted: no signature by key 0011…`,
    );
    expect(judge({}, { passed: false })).to.have.property(
      "gap",
      `the test result kept with release ${ID} on web1 is not PASSED`,
    );
  });
});

describe("judging the entries and the digests of a kept copy", () => {
  it("refuses a copy holding entries its signed entries list does not cover, naming them and counting the rest", () => {
    const named = ["sitecustomize.py (symlink)", "x.py (file)"];
    const r = judge({ state: "bad", uncovered: { named, count: 12 } });
    expect(r).to.have.property(
      "gap",
      `release ${ID} on web1 holds 12 entries its signed entries list does not cover: sitecustomize.py (symlink), x.py (file) and 10 more: it was changed after it was staged`,
    );
  });

  it("refuses a links file or an entries list that is not the one the provenance names", () => {
    expect(judge({ linksSha256: "9".repeat(64) })).to.have.property(
      "gap",
      `the links file of release ${ID} on web1 (sha256 ${"9".repeat(64)}) is not the one its provenance names (${FACTS.linksSha256})`,
    );
    expect(judge({ entriesSha256: undefined })).to.have.property(
      "gap",
      `the entries list of release ${ID} on web1 (sha256 missing) is not the one its provenance names (${FACTS.entriesSha256})`,
    );
  });
});
