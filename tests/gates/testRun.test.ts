import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { runTests, scrubbedEnv } from "../../gates/testRun";
import { FixtureRepo, PY_APP, PY_TEST_COMMAND, tempDir } from "../helpers/repo";

describe("the test run (G3)", function () {
  this.timeout(60_000);
  let repo: FixtureRepo;
  let cacheDir: string;
  const opts = () => {
    const head = repo.head();
    return {
      repo: repo.dir,
      commit: head,
      tree: repo.git("rev-parse", `${head}^{tree}`),
      timeoutSeconds: 30,
      cacheDir,
    };
  };
  beforeEach(() => {
    repo = FixtureRepo.create(PY_APP);
    cacheDir = tempDir();
  });
  afterEach(() => repo.remove());

  it("runs the suite and reads unittest's counts", async () => {
    const r = await runTests({ ...opts(), command: PY_TEST_COMMAND });
    expect(r).to.deep.include({ exitCode: 0, timedOut: false, cached: false });
    expect(r.counts).to.deep.equal({
      passed: 3,
      failed: 0,
      skipped: 0,
      total: 3,
      format: "unittest",
    });
  });

  it("runs in a clean export of the commit, never the working tree", async () => {
    fs.writeFileSync(path.join(repo.dir, "untracked.txt"), "x");
    fs.writeFileSync(path.join(repo.dir, "README.md"), "edited in the working tree\n");
    const cmd =
      'test ! -e untracked.txt && test ! -e .git && grep -q "sample service" README.md && echo "1 passed, 0 failed"';
    const r = await runTests({ ...opts(), command: cmd });
    expect(r.counts).to.deep.include({ passed: 1, failed: 0 });
    expect(r.exitCode).to.equal(0);
  });

  it("hides the operator's environment, Pulumi's config and secrets included", async () => {
    process.env.PULUMI_CONFIG = '{"ssot-deploy:sshPrivateKey":"hidden"}';
    process.env.AWS_SECRET_ACCESS_KEY = "hidden";
    try {
      const r = await runTests({ ...opts(), command: 'env | sort; echo "1 passed, 0 failed"' });
      const seen = r.tail.filter((l) => l.includes("="));
      expect(
        seen
          .map((l) => l.split("=")[0])
          .filter((k) => !["PWD", "SHLVL", "_", "OLDPWD"].includes(k)),
      ).to.deep.equal(Object.keys(scrubbedEnv("/h", "/t")).sort());
      expect(r.tail.join("\n")).not.to.contain("hidden");
    } finally {
      delete process.env.PULUMI_CONFIG;
      delete process.env.AWS_SECRET_ACCESS_KEY;
    }
  });

  it("kills a suite that outlives the timeout, children included", async () => {
    const marker = path.join(cacheDir, "survived");
    const r = await runTests({
      ...opts(),
      timeoutSeconds: 1,
      command: `(sleep 3; touch ${marker}) & sleep 30`,
    });
    expect(r.timedOut).to.equal(true);
    await new Promise((res) => setTimeout(res, 3500));
    expect(fs.existsSync(marker)).to.equal(false);
  });

  it("runs the suite once for a tree and command, then answers from the cache", async () => {
    const counter = path.join(cacheDir, "runs");
    const cmd = `echo run >> ${counter}; ${PY_TEST_COMMAND}`;
    const first = await runTests({ ...opts(), command: cmd });
    const second = await runTests({ ...opts(), command: cmd });
    expect([first.cached, second.cached]).to.deep.equal([false, true]);
    expect(second.counts).to.deep.equal(first.counts);
    expect(fs.readFileSync(counter, "utf8")).to.equal("run\n");
  });

  it("does not cache a failing run", async () => {
    const counter = path.join(cacheDir, "runs");
    const cmd = `echo run >> ${counter}; echo "1 passed, 1 failed"; exit 1`;
    await runTests({ ...opts(), command: cmd });
    const again = await runTests({ ...opts(), command: cmd });
    expect(again.cached).to.equal(false);
    expect(fs.readFileSync(counter, "utf8")).to.equal("run\nrun\n");
  });
});
