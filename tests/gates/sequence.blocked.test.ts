import { expect } from "chai";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GATE_NAMES, GateId } from "../../gates/gate";
import { refusalOf } from "../helpers/catalogue";
import { ThrowawayStack } from "../../testbed/stack";
import { FixtureRepo, PY_TEST_COMMAND, tempDir } from "../helpers/repo";
import { engineStack } from "../helpers/stack";

const PASSWORD = ["s3cr3t", "-hunter", "2"].join("");

/**
 * Runs pulumi preview and then pulumi up, and expects both blocked with the same report and
 * nothing registered. The up skips the CLI's own preview: without --skip-preview the preview
 * blocks first and the program never runs in up mode.
 */
async function blocked(
  stack: ThrowawayStack,
  config: Record<string, string>,
): Promise<{ err: Error; printed: string }> {
  const preview = await stack.preview(config);
  const up = await stack.up(config, ["--skip-preview"]);
  for (const run of [preview, up]) {
    expect(run.resources, "resources registered by a blocked run").to.deep.equal([]);
    expect(run.code).to.equal(1);
    expect(run.error!.message).to.match(
      /^# ssot-deploy report: .*\n\nFINAL RESULT: BLOCKED_WITH_EXACT_GAP\n/,
    );
  }
  // Equal but for the header (mode and time), the report's file name, the throwaway directory
  // the tests ran in, the suite's own timing, the free disk, which other processes change, and
  // G1 saying that the up read back the scan its preview made of the same tree.
  const text = (e?: Error) =>
    e?.message
      .replace(/^# ssot-deploy report: .*$/m, "# header")
      .replace(/\(report: .*\)$/, "(report)")
      .replace(/ssot-deploy-tests-\w+/g, "ssot-deploy-tests-X")
      .replace(/ in [\d.]+s\b/g, " in Ns")
      .replace(/; \d+ MiB free;/g, "; N MiB free;")
      .replace(/ \(scan of this tree cached\)/g, "");
  // Each in its own mode: the up's program did run as an update.
  for (const [run, mode] of [
    [preview, "preview"],
    [up, "up"],
  ] as const)
    expect(run.error!.message).to.match(
      new RegExp(`^# ssot-deploy report: stack ${stack.name}, ${mode}, `),
    );
  expect(text(up.error)).to.equal(text(preview.error));
  // What the CLI printed of both runs, for checks that nothing leaked there either.
  const printed = [preview, up].map((r) => `${r.stdout}${r.stderr}`).join("");
  return { err: preview.error!, printed };
}

function line(err: Error, prefix: string): string | undefined {
  return err.message.split("\n").find((l) => l.startsWith(prefix));
}

describe("a blocked run", function () {
  this.timeout(120_000);
  const held = engineStack();
  let repo: FixtureRepo;
  let workDir: string;
  let reportDir: string;
  let cfg: Record<string, string>;
  beforeEach(() => {
    repo = FixtureRepo.create();
    workDir = tempDir();
    reportDir = path.join(workDir, "reports");
    cfg = {
      repo: repo.dir,
      testCommand: PY_TEST_COMMAND,
      workDir,
      target: "local",
      deployRoot: path.join(workDir, "server", "app"),
      reportDir,
    };
  });
  afterEach(() => {
    repo.remove();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it("says the seed's gap when the SSOT repo is not on this machine, and that nothing changed", async () => {
    const missing = "/Users/nmhuyen/iu-cutter-build/repo/iu-cutter";
    const { err } = await blocked(held.stack, { ...cfg, repo: missing });
    const gap = `the SSOT repo ${missing} does not exist on this machine (${os.hostname()}); the deploy must run from the machine that holds the SSOT repo`;
    const next = `run pulumi preview / pulumi up again on the machine where ${missing} is present, or set its path there: pulumi config set repo <path>`;
    const [body, reportLine] = err.message.split("\n\n(report: ");
    expect(body.split("\n").slice(1).join("\n")).to.equal(
      [
        "",
        "FINAL RESULT: BLOCKED_WITH_EXACT_GAP",
        "",
        "## 1. The exact gap",
        "",
        gap,
        "",
        "## 2. Gates",
        "",
        "| Gate | Outcome | Detail |",
        "|---|---|---|",
        `| G0 precheck | FAIL | ${gap} |`,
        "| G2 SSOT discipline | SKIPPED | not run: blocked at G0 |",
        "| G1 change-set survey | SKIPPED | not run: blocked at G0 |",
        "| G3 tests | SKIPPED | not run: blocked at G0 |",
        "| G4 artifact | SKIPPED | not run: blocked at G0 |",
        "| G5 deploy | SKIPPED | not run: blocked at G0 |",
        "| G6 postdeploy proof | SKIPPED | not run: blocked at G0 |",
        "| G7 rollback / disable | SKIPPED | not run: blocked at G0 |",
        "",
        "## 3. Change set",
        "",
        "not surveyed: the run blocked before G1",
        "",
        "## 4. Non-mutation attestation",
        "",
        "```",
        "production_mutation: NONE — No resource was registered and no server was contacted.",
        "execution_enabled: false declared; no server read",
        "deployed tree: no server read",
        "services restarted: none",
        "secrets logged: none",
        "```",
        "",
        "## 5. Exact next action",
        "",
        next,
        "",
        "## STOP",
        "",
        "```",
        "final_outcome: BLOCKED_WITH_EXACT_GAP",
        `exact gap: ${gap}`,
        "production_mutation: NONE",
        "execution_enabled: false (not read)",
        `next action: ${next}`,
        "```",
      ].join("\n"),
    );
    // The report on disk is the error's text, in reports/<stack>/.
    const file = reportLine.replace(/\)$/, "");
    expect(path.relative(reportDir, file)).to.match(
      new RegExp(`^${held.stack.name}/\\d{8}T\\d{9}Z(-\\d+)?\\.md$`),
    );
    expect(fs.readFileSync(file, "utf8")).to.equal(`${body}\n`);
  });

  it("reports how far the mainline is ahead of and behind its upstream", async () => {
    const clone = tempDir();
    repo.git("clone", "-q", repo.dir, clone);
    const local = new FixtureRepo(clone);
    local.commit("local work", { "app/local.py": "x = 1\n" });
    repo.commit("upstream work", { "app/remote.py": "y = 2\n" });
    local.git("fetch", "-q", "origin");
    const run = await held.stack.preview({ ...cfg, repo: clone });
    expect(run.error, run.error?.message).to.equal(undefined);
    const g2 = run.outputs!.gates.find((g) => g.id === "G2");
    expect(g2?.detail).to.equal(
      `${local.head().slice(0, 12)} is on main; tracked files clean; 1 ahead, 1 behind origin/main`,
    );
    fs.rmSync(clone, { recursive: true, force: true });
  });

  it("blocks at G0 when repo is not a git repository", async () => {
    const { err } = await blocked(held.stack, { ...cfg, repo: workDir });
    expect(line(err, "exact gap:")).to.equal(`exact gap: repo ${workDir} is not a git repository`);
  });

  it("blocks at G0 when ref names no commit", async () => {
    const { err } = await blocked(held.stack, { ...cfg, ref: "v9.9.9" });
    expect(line(err, "exact gap:")).to.equal(
      `exact gap: ref "v9.9.9" does not resolve to a commit in ${repo.dir}`,
    );
    expect(line(err, "next action:")).to.equal(
      `next action: check the name (git -C ${repo.dir} log --oneline main), fetch it if it is remote, then pulumi config set ref <commit, tag or branch>`,
    );
  });

  it("blocks at G2 when the mainline branch does not exist", async () => {
    const { err } = await blocked(held.stack, { ...cfg, branch: "release" });
    expect(line(err, "exact gap:")).to.equal(
      `exact gap: branch "release" does not exist in ${repo.dir}`,
    );
  });

  it("blocks at G2 on a commit that is not reachable from the mainline", async () => {
    repo.git("checkout", "-q", "-b", "experiment");
    const off = repo.commit("experiment", { "app/extra.py": "x = 1\n" });
    const { err } = await blocked(held.stack, { ...cfg, ref: "experiment" });
    expect(line(err, "exact gap:")).to.equal(
      `exact gap: commit ${off.slice(0, 12)} (ref experiment) is not reachable from main`,
    );
    expect(line(err, "next action:")).to.equal(
      "next action: merge it into main first, or deploy a commit of main: pulumi config set ref <commit on main>",
    );
  });

  it("blocks at G2 when tracked files have uncommitted changes, but not for untracked files", async () => {
    fs.writeFileSync(path.join(repo.dir, "untracked.txt"), "ignored by G2");
    fs.appendFileSync(path.join(repo.dir, "app/service.py"), "# edited\n");
    const { err } = await blocked(held.stack, cfg);
    expect(line(err, "exact gap:")).to.equal(
      `exact gap: 1 tracked file(s) in ${repo.dir} have uncommitted changes: app/service.py`,
    );
    expect(line(err, "| G1")).to.equal(
      "| G1 change-set survey | SKIPPED | not run: blocked at G2 |",
    );
  });

  it("blocks at G1 on a committed secret, naming file, line and rule but never the secret", async () => {
    repo.commit("settings", { "app/settings.py": `MODE = "SIM"\nDB_PASSWORD = "${PASSWORD}"\n` });
    const { err, printed } = await blocked(held.stack, cfg);
    expect(line(err, "exact gap:")).to.equal(
      "exact gap: secret scan found 1 finding(s) in files that would ship: app/settings.py:2 (ssot/password-assignment)",
    );
    expect(err.message).not.to.contain(PASSWORD);
    expect(printed)
      .to.contain("app/settings.py:2 (ssot/password-assignment)")
      .and.not.contain(PASSWORD);
  });

  it("blocks at G1 when baseRef names no commit", async () => {
    const { err } = await blocked(held.stack, { ...cfg, baseRef: "v0.0.1" });
    expect(line(err, "exact gap:")).to.equal(
      `exact gap: baseRef "v0.0.1" does not resolve to a commit in ${repo.dir}`,
    );
  });

  it("blocks at G3 when tests fail, with their counts and last lines", async () => {
    repo.commit("break", {
      "tests/test_broken.py":
        "import unittest\nclass B(unittest.TestCase):\n    def test_x(self):\n        self.fail('broken')\n",
    });
    const { err } = await blocked(held.stack, cfg);
    expect(line(err, "exact gap:")).to.equal(
      "exact gap: tests failed: 3 passed, 1 failed of 4 (exit 1); last lines:",
    );
    expect(err.message).to.contain("FAILED (failures=1)");
    expect(line(err, "| G4")).to.equal("| G4 artifact | SKIPPED | not run: blocked at G3 |");
  });

  it("blocks at G3 when fewer tests ran than expectedTests", async () => {
    const { err } = await blocked(held.stack, { ...cfg, expectedTests: "394" });
    expect(line(err, "exact gap:")).to.equal(
      "exact gap: ran 3 tests, fewer than expectedTests=394",
    );
  });

  it("blocks at G3 when the output carries no test count", async () => {
    const { err } = await blocked(held.stack, { ...cfg, testCommand: "echo fine" });
    expect(line(err, "exact gap:")).to.equal(
      "exact gap: could not read a test count from the output of `echo fine` (exit 0); last lines:",
    );
  });

  it("blocks at G3 when the suite outlives testTimeoutSeconds", async () => {
    const { err } = await blocked(held.stack, {
      ...cfg,
      testCommand: "sleep 20",
      testTimeoutSeconds: "1",
    });
    expect(line(err, "exact gap:")).to.equal(
      "exact gap: tests did not finish within testTimeoutSeconds=1",
    );
  });

  it("stops on invalid config before any gate runs", async () => {
    // repo set, but to nothing: left unset, the CLI itself refuses the required key, and the
    // program never runs.
    const run = await held.stack.up({ ...cfg, repo: "" }, ["--skip-preview"]);
    expect(run.resources).to.deep.equal([]);
    expect(refusalOf(run.error)).to.equal(
      '- config key "ssot-deploy:repo" must be set to the path of the SSOT git repository on this machine. Fix: pulumi config set repo /path/to/your/repo',
    );
    // Each gate says when it starts: no such line, so none ran.
    const starts = (Object.keys(GATE_NAMES) as GateId[]).map((id) => `${id} ${GATE_NAMES[id]} (`);
    expect(
      run.diagnostics.filter((d) => starts.some((s) => d.message.startsWith(s))),
    ).to.deep.equal([]);
  });
});

describe("the change set against baseRef", function () {
  this.timeout(60_000);
  const held = engineStack();
  it("lists added, modified, deleted and renamed files with the sha256 of each that ships", async () => {
    const repo = FixtureRepo.create();
    const base = repo.head();
    repo.git("mv", "README.md", "NOTES.md");
    repo.git("rm", "-q", "tests/__init__.py");
    const target = repo.commit("change", {
      "app/service.py": "def run(mode):\n    return 'ok:' + mode\n",
      "app/new.py": "x = 1\n",
    });
    const work = tempDir();
    try {
      const run = await held.stack.preview({
        target: "local",
        deployRoot: path.join(work, "app"),
        repo: repo.dir,
        testCommand: "echo '1 passed, 0 failed'",
        baseRef: base,
        workDir: work,
        reportDir: path.join(work, "reports"),
      });
      expect(run.error, run.error?.message).to.equal(undefined);
      const cs = run.outputs!.changeSet;
      expect(cs.base).to.equal(base);
      expect(cs.baseSource).to.equal("baseRef");
      expect(cs.target).to.equal(target);
      const sha = (p: string) =>
        createHash("sha256")
          .update(fs.readFileSync(path.join(repo.dir, p)))
          .digest("hex");
      expect(cs.added).to.deep.equal([{ path: "app/new.py", sha256: sha("app/new.py") }]);
      expect(cs.modified).to.deep.equal([
        { path: "app/service.py", sha256: sha("app/service.py") },
      ]);
      expect(cs.renamed).to.deep.equal([
        { path: "NOTES.md", from: "README.md", sha256: sha("NOTES.md") },
      ]);
      expect(cs.deleted).to.deep.equal(["tests/__init__.py"]);
    } finally {
      repo.remove();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
