import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../../lib/paths";
import { runPulumi } from "../../tools/engine";
import { acted } from "../../testbed/events";
import { ThrowawayStack } from "../../testbed/stack";
import { snapshot } from "../helpers/release";
import { signingKeyPair } from "../helpers/attest";
import { sshStackConfig, sshSuite } from "../helpers/stack";

const ROOT = projectRoot();

/** The shell words of a command line as `npm run history` prints it (single quotes only). */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

describe("a stack's life on the real engine: no-change runs, a refusal, history and destroy", function () {
  this.timeout(300_000);
  const suite = sshSuite();
  const signer = signingKeyPair();
  let stack: ThrowawayStack;
  let v1: string;
  const cfg = (over: Record<string, string> = {}) =>
    sshStackConfig(suite.repo.dir, suite.work, suite.sshd, {
      attestationKey: signer.privateKey,
      ...over,
    });

  before(async () => {
    // Settings in the project, as an operator's are: the commands npm run history prints
    // name no settings file.
    stack = await ThrowawayStack.create(undefined, { inProject: true });
    v1 = suite.repo.head();
    const first = await stack.up(cfg());
    expect(first.error, first.error?.message).to.equal(undefined);
  });
  after(() => stack?.remove());

  it("registers in a preview exactly the resources an up registers", async () => {
    const preview = await stack.preview(cfg());
    const up = await stack.up(cfg(), ["--skip-preview"]);
    const urns = (r: typeof up) => r.resources.map((s) => s.urn).sort();
    expect(urns(preview)).to.deep.equal(urns(up));
    expect(urns(up)).to.include.members(
      ["attestation", "web1-deploy", "web1-promote-current"].map(
        (n) => up.resources.find((r) => r.name === n)!.urn,
      ),
    );
  });

  it("previews and updates an unchanged stack with no change: --expect-no-changes holds for both", async () => {
    const before = snapshot(suite.root);
    const preview = await stack.preview(cfg(), ["--expect-no-changes"]);
    expect(preview.code, preview.stdout).to.equal(0);
    const up = await stack.up(cfg(), ["--expect-no-changes"]);
    expect(up.code, up.stdout).to.equal(0);
    expect(acted(up)).to.deep.equal([]);
    expect(up.outputs!.result).to.equal("no change");
    expect(snapshot(suite.root)).to.deep.equal(before);
  });

  it("prints a refusal at program time as its report and next action, with no stack trace, at once", async () => {
    const started = Date.now();
    const run = await stack.preview(cfg({ repo: path.join(suite.work, "no-such-repo") }));
    const seconds = (Date.now() - started) / 1000;
    expect(run.code).to.equal(1);
    expect(run.stdout).to.contain("FINAL RESULT: BLOCKED_WITH_EXACT_GAP");
    expect(run.stdout).to.contain(
      `exact gap: the SSOT repo ${path.join(suite.work, "no-such-repo")} does not exist on this machine`,
    );
    expect(run.stdout).to.match(
      /^\s+next action: run pulumi preview \/ pulumi up again on the machine where /m,
    );
    // Neither the program's frames nor the SDK's: the report is the whole message.
    expect(run.stdout + run.stderr).to.not.match(/^\s+at .+:\d+:\d+\)?$/m);
    expect(run.stdout).to.not.contain("unhandled exception");
    // Node 20.20's util.inspect took 17 s over such an error's stack before the refusal dropped it.
    expect(seconds).to.be.below(10);
  });

  it("lists every update in npm run history, whose --to commands, run as printed, roll the stack back", async () => {
    const v1Release = fs.readlinkSync(path.join(suite.root, "current")).replace(/^releases\//, "");
    suite.repo.commit("v2", { "app/extra.py": "X = 2\n" });
    const v2 = await stack.up(cfg());
    expect(v2.error, v2.error?.message).to.equal(undefined);
    const history = (args: string[]) =>
      execFileSync(
        process.execPath,
        [path.join(ROOT, "dist", "scripts", "history.js"), "--stack", stack.name, ...args],
        { encoding: "utf8", env: stack.env },
      );
    const updates = await stack.history();
    const listed = history([]);
    expect(listed.match(/^ +\d+ {2}\S+ {2}update /gm)).to.have.length(updates.length);
    // Update 1 deployed v1: the revisions log, copied from the server, pins its ref to a commit.
    const revisions = path.join(suite.root, ".deploy", "revisions.jsonl");
    const out = history(["--revisions", revisions, "--to", "1"]);
    const commands = out
      .split("\n")
      .filter((l) => /^ {2}pulumi /.test(l))
      .map((l) => words(l.trim()));
    expect(commands.map((c) => c.slice(0, 3).join(" "))).to.deep.equal([
      "pulumi config set",
      "pulumi preview --stack",
      "pulumi up --stack",
    ]);
    expect(commands[0]).to.deep.equal([
      "pulumi",
      "config",
      "set",
      "release",
      v1Release,
      "--stack",
      stack.name,
    ]);
    for (const c of commands) {
      // A terminal's confirmation is what --yes gives a command run without one.
      const args = c[1] === "up" ? [...c.slice(1), "--yes"] : c.slice(1);
      const r = await runPulumi(stack.stack.engine, args, { cwd: ROOT });
      expect(r.code, `${c.join(" ")}\n${r.stdout}${r.stderr}`).to.equal(0);
    }
    expect(fs.readlinkSync(path.join(suite.root, "current"))).to.equal(`releases/${v1Release}`);
    const outputs = await stack.stack.outputs<{ artifact: { commit: string; kept?: boolean } }>();
    expect(outputs.artifact).to.include({ commit: v1, kept: true });
  });

  it("destroys by writing the kill-switch OFF, leaving every release, current, shared files and backups on the server", async () => {
    const on = {
      killSwitch: JSON.stringify({
        file: "kill-switch.json",
        key: "execution_enabled",
        format: "json",
        value: true,
      }),
      allowLiveExecution: "true",
      release: "",
    };
    const up = await stack.up(cfg(on));
    expect(up.error, up.error?.message).to.equal(undefined);
    const killSwitch = "shared/kill-switch.json";
    const read = () => fs.readFileSync(path.join(suite.root, killSwitch), "utf8");
    const before = snapshot(suite.root);
    expect(read()).to.equal('{"execution_enabled":true}\n');
    // Its preview lists every resource the stack forgets, and changes nothing.
    const preview = await stack.destroy(["--preview-only"]);
    expect(preview.code, preview.stdout).to.equal(0);
    expect(snapshot(suite.root)).to.deep.equal(before);
    const planned = preview.resources.filter((r) => r.op === "delete").map((r) => r.name);
    expect(planned).to.include.members(["web1-deploy", "web1-killswitch-declared", "attestation"]);
    const destroyed = await stack.destroy();
    expect(destroyed.code, destroyed.stdout).to.equal(0);
    expect(read()).to.equal('{"execution_enabled":false}\n');
    // That file, and nothing else: releases, current, shared/, backups/ and .deploy/ stay.
    const after = snapshot(suite.root);
    expect({ ...after, [killSwitch]: before[killSwitch] }).to.deep.equal(before);
    expect(after[killSwitch]).to.not.equal(before[killSwitch]);
    expect(await stack.stack.outputs()).to.deep.equal({});
  });
});
