import { expect } from "chai";
import * as fs from "node:fs";
import { simpleGit } from "simple-git";
import { surveyChangeSet } from "../../gates/changeSet";
import { FixtureRepo, tempDir } from "../helpers/repo";

describe("G1's scan of the files that ship, kept by tree", function () {
  this.timeout(60_000);
  let repo: FixtureRepo;
  let cache: string;
  const survey = (exclude: string[] = []) =>
    surveyChangeSet(simpleGit(repo.dir), repo.dir, undefined, repo.head(), exclude, cache);

  beforeEach(() => {
    repo = FixtureRepo.create();
    cache = tempDir();
  });
  afterEach(() => {
    repo.remove();
    fs.rmSync(cache, { recursive: true, force: true });
  });

  it("reads back the scan of a tree it scanned before, the same change set and findings", async () => {
    const first = await survey();
    expect(first.cached).to.equal(false);
    const again = await survey();
    expect(again.cached).to.equal(true);
    expect(again.changeSet).to.deep.equal(first.changeSet);
    expect(again.findings).to.deep.equal(first.findings);
  });

  it("scans again for another tree, and for other excludes", async () => {
    await survey();
    expect((await survey(["tests/**"])).cached).to.equal(false);
    repo.commit("v2", { "app/extra.py": "X = 2\n" });
    const v2 = await survey();
    expect(v2.cached).to.equal(false);
    expect(v2.changeSet.artifactFiles).to.equal((await survey()).changeSet.artifactFiles);
  });

  it("keeps a finding as it found it: a cached scan still blocks on it", async () => {
    repo.commit("leak", { "app/settings.py": 'DB_PASSWORD = "hunter2-for-real"\n' });
    const first = await survey();
    const again = await survey();
    expect(again.cached).to.equal(true);
    expect(again.findings).to.deep.equal([
      { file: "app/settings.py", line: 1, rule: "ssot/password-assignment" },
    ]);
    expect(again.findings).to.deep.equal(first.findings);
  });
});
