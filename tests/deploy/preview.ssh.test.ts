import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { runProgram } from "../../harness/program";
import { renderPlan } from "../../harness/plan";
import { projectRoot } from "../../lib/paths";
import { deployedSuite, sshStackConfig } from "../helpers/stack";

/** The fenced block after the README line that introduces the v1 to v2 preview. */
function readmeExample(): string {
  const text = fs.readFileSync(path.join(projectRoot(), "README.md"), "utf8");
  const at = text.indexOf("A v1 to v2 preview, as the harness diffs it");
  const m = /```\n([\s\S]*?)\n```/.exec(text.slice(at));
  return at < 0 || !m ? "" : m[1];
}

describe("a v1 to v2 preview of the declared state, over SSH to a real sshd", function () {
  this.timeout(180_000);
  const s = deployedSuite();

  it("updates the transaction, the staged release, the rollback target and current, uploads v2, and leaves the kill-switch record as it was", async () => {
    s.repo.commit("v2", { "app/extra.py": "X = 2\n" });
    const run = await runProgram(sshStackConfig(s.repo.dir, s.work, s.sshd), {
      preview: true,
      lifecycle: s.lifecycle,
    });
    expect(run.error).to.equal(undefined);
    const ops = s.lifecycle.planned.filter((p) => p.op !== "same").map((p) => `${p.op} ${p.name}`);
    expect(ops).to.deep.equal([
      "update web1-release-upload",
      "update web1-deploy",
      "update web1-backup-keeps",
      "update web1-release-staged",
      "update web1-promote-current",
    ]);
    expect(s.lifecycle.planned.find((p) => p.name === "web1-killswitch-declared")?.op).to.equal(
      "same",
    );
    const plan = renderPlan(s.lifecycle.planned).split(s.work).join("<work>");
    expect(plan).to.contain(`environment.CURRENT: "releases/`);
    expect(readmeExample(), `the README's example should read:\n${plan}`).to.equal(plan);
  });
});
