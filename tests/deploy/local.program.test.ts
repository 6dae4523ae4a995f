import { expect } from "chai";
import { expectVerified } from "../helpers/attest";
import * as fs from "node:fs";
import * as path from "node:path";
import { CommandLifecycle } from "../../harness/lifecycle";
import { runProgram } from "../../harness/program";
import { FixtureRepo, PY_TEST_COMMAND, tempDir } from "../helpers/repo";
import { snapshot } from "../helpers/release";

describe("the program with a good repository, target local", function () {
  this.timeout(120_000);
  let repo: FixtureRepo;
  let workDir: string;
  let root: string;
  let cfg: Record<string, string>;
  before(() => {
    repo = FixtureRepo.create();
    workDir = tempDir();
    root = path.join(workDir, "server", "app");
    cfg = {
      repo: repo.dir,
      testCommand: PY_TEST_COMMAND,
      expectedTests: "3",
      workDir,
      target: "local",
      deployRoot: root,
      reportDir: path.join(workDir, "reports"),
    };
  });
  after(() => repo.remove());

  it("previews every gate and the plan, and changes nothing", async () => {
    const run = await runProgram(cfg, { preview: true });
    expect(run.error, run.error?.message).to.equal(undefined);
    const out = run.outputs!;
    expect(out.artifact.commit).to.equal(repo.head());
    expect(out.artifact.path).to.equal(
      path.join(workDir, "artifacts", `${out.artifact.releaseId}.tar.gz`),
    );
    expect(out.gates.map((g) => `${g.id}:${g.status}`)).to.deep.equal([
      "G0:PASS",
      "G0:PASS",
      "G2:PASS",
      "G1:PASS",
      "G3:PASS",
      "G4:PASS",
      "G5:SKIPPED",
      "G6:SKIPPED",
      "G7:SKIPPED",
    ]);
    expect(out.gates[1].detail).to.match(
      /^server local \(local\): nothing live; no drift; no lock; \d+ MiB free; kill-switch execution_enabled=absent$/,
    );
    expect(out.gates[6].detail).to.equal(
      `preview, would: local: upload and stage ${out.artifact.releaseId}, keep or archive the live tree, switch current`,
    );
    expect(out.tests).to.include({ command: PY_TEST_COMMAND, passed: 3, failed: 0, total: 3 });
    expect(out.changeSet.baseSource).to.equal("none");
    expect(out.deploy).to.equal(undefined);
    expect(snapshot(path.join(workDir, "server"))).to.deep.equal({});
  });

  it("deploys in up mode: current points at the release, the kill-switch is OFF and read back", async () => {
    const lifecycle = new CommandLifecycle();
    const run = await runProgram(cfg, { preview: false, lifecycle });
    expect(run.error, run.error?.message).to.equal(undefined);
    await expectVerified(run.outputs!, cfg);
    const out = run.outputs!;
    const id = out.artifact.releaseId;
    expect(fs.readlinkSync(path.join(root, "current"))).to.equal(`releases/${id}`);
    expect(fs.readFileSync(path.join(root, "shared/kill-switch.json"), "utf8")).to.equal(
      '{"execution_enabled":false}\n',
    );
    expect(out.deploy?.local).to.deep.include({
      releaseId: id,
      promoted: "switched",
      previous: "",
      backup: { kind: "none", path: "none", sha256: undefined },
      restarted: "none",
    });
    expect(out.deploy?.local.killSwitch).to.deep.equal({ declared: false, readBack: false });
    expect(out.gates.slice(-3).map((g) => `${g.id}:${g.status}`)).to.deep.equal([
      "G5:PASS",
      "G6:PASS",
      "G7:PASS",
    ]);
    // The upload and the one transaction act; then each declared concern is recorded.
    expect(lifecycle.operations.map((o) => `${o.op} ${o.name}`)).to.deep.equal([
      "create local-release-upload",
      "create local-deploy",
      "create local-backup-keeps",
      "create local-release-staged",
      "create local-killswitch-declared",
      "create local-promote-current",
    ]);
    const records = Object.fromEntries(
      run.resources
        .filter(
          (r) =>
            r.type === "command:local:Command" &&
            r.name !== "local-release-upload" &&
            r.name !== "local-deploy",
        )
        .map((r) => [r.name, r.inputs.environment]),
    );
    expect(records).to.deep.equal({
      "local-backup-keeps": { ROLLBACK_TO: "nothing: no release was live before it" },
      "local-release-staged": { RELEASE: id, ARTIFACT_SHA256: out.artifact.sha256 },
      "local-killswitch-declared": {
        FILE: "shared/kill-switch.json",
        VALUE: "execution_enabled=false",
      },
      "local-promote-current": { CURRENT: `releases/${id}`, COMMIT: repo.head() },
    });
    expect(fs.existsSync(path.join(root, ".deploy/lock"))).to.equal(false);
  });

  it("turns the kill-switch ON only when declared and confirmed, and destroy turns it OFF", async () => {
    const lifecycle = new CommandLifecycle();
    const on = {
      ...cfg,
      killSwitch: JSON.stringify({
        file: "kill-switch.json",
        key: "execution_enabled",
        format: "json",
        value: true,
      }),
    };
    const refused = await runProgram(on, { preview: true, lifecycle });
    expect(refused.error?.message).to.contain(
      '- config key "ssot-deploy:allowLiveExecution" must be true to deploy with killSwitch.value true',
    );
    expect(refused.resources).to.deep.equal([]);
    const run = await runProgram(
      { ...on, allowLiveExecution: "true" },
      { preview: false, lifecycle },
    );
    expect(run.error, run.error?.message).to.equal(undefined);
    await expectVerified(run.outputs!, { ...on, allowLiveExecution: "true" });
    expect(run.outputs!.deploy?.local.killSwitch).to.deep.equal({ declared: true, readBack: true });
    await lifecycle.destroy();
    expect(fs.readFileSync(path.join(root, "shared/kill-switch.json"), "utf8")).to.equal(
      '{"execution_enabled":false}\n',
    );
  });
});
