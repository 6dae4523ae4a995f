import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { expectRunRefused, liveState } from "../helpers/catalogue";
import { deployedSuite } from "../helpers/stack";

/** One beforeSwitch command, as config takes it. */
const before = (command: string, timeoutSeconds = 60) =>
  JSON.stringify([{ name: "prepare", command, timeoutSeconds }]);

describe("beforeSwitch: commands that prepare the staged release before it goes live", function () {
  this.timeout(180_000);
  const s = deployedSuite();
  const failedLog = () => path.join(s.root, ".deploy", "failed");

  it("runs them in the staged release before the switch, and their output goes to the report", async () => {
    s.repo.commit("v2", { "app/extra.py": "X = 2\n" });
    const run = await s.up({
      beforeSwitch: before("mkdir -p .venv && echo ready > .venv/marker && echo built the venv"),
    });
    expect(run.error, run.error?.message).to.equal(undefined);
    const id = run.outputs!.artifact.releaseId;
    expect(run.outputs!.deploy!.web1.beforeSwitch).to.deep.equal({
      prepared: "now",
      commands: [{ name: "prepare", exit: 0, output: "built the venv" }],
    });
    expect(fs.readFileSync(path.join(s.root, "current", ".venv", "marker"), "utf8")).to.equal(
      "ready\n",
    );
    expect(fs.readFileSync(run.outputs!.report, "utf8")).to.contain(
      "## 4. Before the switch\n\nweb1: prepare exited 0\n\n```\nbuilt the venv\n```\n",
    );
    // Deploying the same release again does not prepare it again.
    const again = await s.up({ beforeSwitch: before("echo never") });
    expect(again.outputs!.deploy!.web1.beforeSwitch.prepared).to.equal("already");
    expect(path.basename(fs.readlinkSync(path.join(s.root, "current")))).to.equal(id);
  });

  const refusals: [string, string, number, RegExp][] = [
    [
      "a command that fails",
      "echo first; echo 'No matching distribution' >&2; exit 3",
      60,
      /^beforeSwitch prepare exited 3 in the staged release \(last line: No matching distribution\); current was not switched; the staged release was removed, so that nothing takes it; fix the cause, then run pulumi up again$/,
    ],
    [
      "a command that hangs past its timeout",
      "sleep 30",
      1,
      /^beforeSwitch prepare did not finish within 1s and was killed \(timeoutSeconds\); current was not switched; the staged release was removed, so that nothing takes it; fix the cause, then run pulumi up again$/,
    ],
    [
      "commands that change the release's own files",
      "echo '# patched' >> app/service.py",
      60,
      /^the beforeSwitch commands changed the release's own files \(app\/service\.py\) or added files no exclude names; what they write must be under a path exclude names \(\.venv\/ is built in\); current was not switched; the staged release was removed, so that nothing takes it; fix the cause, then run pulumi up again$/,
    ],
  ];
  for (const [what, command, timeout, refusal] of refusals) {
    it(`refuses ${what}: current where it was, the lock given back, the staged release removed`, async () => {
      s.repo.commit(`v3 ${what}`, { "app/version.py": `V = "${what}"\n` });
      const stateBefore = liveState(s.root);
      const run = await s.up({ beforeSwitch: before(command, timeout) });
      expectRunRefused("proof", run, refusal, stateBefore, liveState(s.root));
      const failed = fs.readFileSync(failedLog(), "utf8").trim().split("\n").pop()!;
      const [id] = failed.split(" ");
      expect(failed).to.match(/^\S+ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (prepare|beforeSwitch)$/);
      expect(fs.existsSync(path.join(s.root, "releases", id))).to.equal(false);
    });
  }
});
