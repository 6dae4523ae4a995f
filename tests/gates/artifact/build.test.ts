import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { simpleGit } from "simple-git";
import { parseSourceConfig } from "../../../config/source";
import { BuiltArtifact, buildArtifact } from "../../../gates/artifact/build";
import { GateFailure } from "../../../gates/gate";
import { resolveCommit } from "../../../gates/git";
import { FixtureRepo, PY_TEST_COMMAND, tempDir } from "../../helpers/repo";

describe("G4's build, reproduced once and then reused", function () {
  this.timeout(60_000);
  let repo: FixtureRepo;
  let work: string;
  const build = async (): Promise<BuiltArtifact> => {
    const cfg = parseSourceConfig({ repo: repo.dir, testCommand: PY_TEST_COMMAND, workDir: work });
    const c = (await resolveCommit(simpleGit(repo.dir), "HEAD"))!;
    const a = await buildArtifact(cfg, c);
    expect(a, (a as GateFailure).gap).to.have.property("releaseId");
    return a as BuiltArtifact;
  };
  const record = () => {
    const dir = path.join(work, "artifacts", "builds");
    return path.join(dir, fs.readdirSync(dir)[0]);
  };

  beforeEach(() => {
    repo = FixtureRepo.create();
    work = tempDir();
  });
  afterEach(() => {
    repo.remove();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it("builds a commit twice, comparing the second with the first, then reuses it with its sha256 checked", async () => {
    const first = await build();
    expect(first.detail).to.match(/; first build of this commit$/);
    const second = await build();
    expect(second.detail).to.match(/; byte-identical to the build of \S+$/);
    const built = fs.statSync(first.path).mtimeMs;
    const third = await build();
    expect(third.detail).to.match(/; reproduced at \S+, not built again: its sha256 checked$/);
    expect(fs.statSync(third.path).mtimeMs).to.equal(built);
    expect({ ...third, detail: "" }).to.deep.equal({ ...second, detail: "" });
  });

  it("builds again, rather than reuse, an artifact whose file changed since", async () => {
    await build();
    const reproduced = await build();
    fs.appendFileSync(reproduced.path, "x");
    const again = await build();
    expect(again.detail).to.match(/; byte-identical to the build of \S+$/);
    expect(fs.readFileSync(again.path).length).to.equal(reproduced.bytes);
  });

  it("blocks when a build gives another tar than the one recorded for the commit", async () => {
    await build();
    const file = record();
    fs.writeFileSync(
      file,
      JSON.stringify({ ...JSON.parse(fs.readFileSync(file, "utf8")), tarSha256: "0".repeat(64) }),
    );
    const cfg = parseSourceConfig({ repo: repo.dir, testCommand: PY_TEST_COMMAND, workDir: work });
    const c = (await resolveCommit(simpleGit(repo.dir), "HEAD"))!;
    const failure = (await buildArtifact(cfg, c)) as GateFailure;
    expect(failure.gap).to.match(
      /^building [0-9a-f]{12} again gave a different tar \(sha256 [0-9a-f]{12}, was 000000000000 at \S+\): the build is not reproducible$/,
    );
  });
});
