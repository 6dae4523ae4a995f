import { expect } from "chai";
import { expectVerified } from "../helpers/attest";
import * as fs from "node:fs";
import * as path from "node:path";
import { acted } from "../../testbed/events";
import { engineStack, localStackConfig } from "../helpers/stack";
import { FixtureRepo, PY_TEST_COMMAND, tempDir } from "../helpers/repo";
import { snapshot } from "../helpers/release";

/** One resource as `pulumi stack export` holds it. */
interface StateResource {
  urn: string;
  type: string;
  inputs?: { environment?: Record<string, string> };
}

describe("the program with a good repository, target local, on the real engine", function () {
  this.timeout(180_000);
  const held = engineStack();
  let repo: FixtureRepo;
  let workDir: string;
  let root: string;
  let cfg: Record<string, string>;
  before(() => {
    repo = FixtureRepo.create();
    workDir = tempDir();
    root = path.join(workDir, "server", "app");
    cfg = localStackConfig(repo.dir, workDir, { expectedTests: "3" });
  });
  after(() => {
    repo.remove();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it("validates a stack that sets none of the optional secrets, as the README configures one", async () => {
    // Pulumi.yaml once gave each secret a plain "" default, and the CLI refused every stack:
    // "Stack '…' with configuration key 'sshPassphrase' must be encrypted as it's secret".
    const run = await held.stack.preview(cfg);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(run.stdout + run.stderr).to.not.contain("must be encrypted");
    expect(fs.readFileSync(held.stack.configFile, "utf8")).to.not.contain("secure:");
  });

  it("previews every gate and the plan, and changes nothing", async () => {
    const run = await held.stack.preview(cfg);
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
    // What the deploy reports is known only once it ran: the preview leaves it unknown.
    expect(out.deploy).to.equal(undefined);
    expect(snapshot(path.join(workDir, "server"))).to.deep.equal({});
    // The plan: every resource up would create, on a stack that holds none yet.
    expect(run.resources.map((r) => r.op))
      .to.include("create")
      .and.not.include("same");
    expect(acted(run)).to.include.members(["create local-release-upload", "create local-deploy"]);
  });

  it("deploys in up mode: current points at the release, the kill-switch is OFF and read back", async () => {
    const run = await held.stack.up(cfg);
    expect(run.error, run.error?.message).to.equal(undefined);
    await expectVerified(run.outputs!, cfg);
    const out = run.outputs!;
    const id = out.artifact.releaseId;
    expect(fs.readlinkSync(path.join(root, "current"))).to.equal(`releases/${id}`);
    expect(fs.readFileSync(path.join(root, "shared/kill-switch.json"), "utf8")).to.equal(
      '{"execution_enabled":false}\n',
    );
    // No archive, so no sha256: the stack output holds no such field.
    expect(out.deploy.local).to.deep.include({
      releaseId: id,
      promoted: "switched",
      previous: "",
      backup: { kind: "none", path: "none" },
      restarted: "none",
    });
    expect(out.deploy.local.killSwitch).to.deep.equal({ declared: false, readBack: false });
    expect(out.gates.slice(-3).map((g) => `${g.id}:${g.status}`)).to.deep.equal([
      "G5:PASS",
      "G6:PASS",
      "G7:PASS",
    ]);
    // The upload and the one transaction act, in that order (the transaction waits on the
    // upload); then each declared concern is recorded, all at once, so in no fixed order.
    const commands = run.resources
      .filter((r) => r.type.startsWith("command:") && r.op !== "same")
      .map((r) => `${r.op} ${r.name}`);
    expect(commands.slice(0, 2)).to.deep.equal([
      "create local-release-upload",
      "create local-deploy",
    ]);
    expect(commands.slice(2).sort()).to.deep.equal([
      "create local-backup-keeps",
      "create local-killswitch-declared",
      "create local-promote-current",
      "create local-release-staged",
    ]);
    // What each record holds, as the engine saved it in the stack's state. On this target the
    // upload and the transaction are local commands too: they are not records.
    const state = JSON.parse(await held.stack.exportState()) as {
      deployment: { resources: StateResource[] };
    };
    const records = Object.fromEntries(
      state.deployment.resources
        .map((r) => ({ ...r, name: r.urn.split("::").pop()! }))
        .filter((r) => r.type === "command:local:Command")
        .filter((r) => r.name !== "local-release-upload" && r.name !== "local-deploy")
        .map((r) => [r.name, r.inputs?.environment]),
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

  it("turns the kill-switch ON only when declared and confirmed, and pulumi destroy turns it OFF", async () => {
    const on = {
      ...cfg,
      killSwitch: JSON.stringify({
        file: "kill-switch.json",
        key: "execution_enabled",
        format: "json",
        value: true,
      }),
    };
    const killSwitch = path.join(root, "shared/kill-switch.json");
    const refused = await held.stack.preview(on);
    expect(refused.code).to.equal(1);
    expect(refused.error?.message).to.contain(
      '- config key "ssot-deploy:allowLiveExecution" must be true to deploy with killSwitch.value true',
    );
    expect(refused.resources).to.deep.equal([]);
    expect(fs.readFileSync(killSwitch, "utf8")).to.equal('{"execution_enabled":false}\n');
    const confirmed = { ...on, allowLiveExecution: "true" };
    const run = await held.stack.up(confirmed);
    expect(run.error, run.error?.message).to.equal(undefined);
    await expectVerified(run.outputs!, confirmed);
    expect(run.outputs!.deploy.local.killSwitch).to.deep.equal({ declared: true, readBack: true });
    expect(fs.readFileSync(killSwitch, "utf8")).to.equal('{"execution_enabled":true}\n');
    const destroyed = await held.stack.destroy();
    expect(destroyed.error, destroyed.error?.message).to.equal(undefined);
    expect(acted(destroyed)).to.include("delete local-killswitch-declared");
    expect(fs.readFileSync(killSwitch, "utf8")).to.equal('{"execution_enabled":false}\n');
  });
});
