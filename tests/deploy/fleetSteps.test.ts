import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { rolloutBatches } from "../../components/rollout";
import {
  PREPARED_STEP,
  prepareSteps,
  SPARED_BY_PREPARE,
  switchSteps,
} from "../../deploy/fleetSteps";
import { DEPLOY_STEPS, hostSteps } from "../../deploy/hostSteps";
import { phasePart } from "../../deploy/hostTransaction";
import { layout } from "../../remote/preamble";
import { preparedNonce, REUSED, splitSteps, transactionScript } from "../../remote/transaction";
import { builtRelease, OPERATOR, stepArgs } from "../helpers/release";

/** Runs a script with sh on this machine: its status, its output and each step's. */
function sh(text: string) {
  const r = spawnSync("sh", ["-s"], { input: text, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, steps: splitSteps(r.stdout) };
}

describe("the batches a rollout switches hosts in", () => {
  const hosts = ["a", "b", "c", "d", "e", "f", "g", "h"];

  it("are one batch of every host for all-or-none, whatever the batch size", () => {
    expect(rolloutBatches(hosts, { rollout: "all-or-none", batchSize: 3 })).to.deep.equal([hosts]);
  });

  it("are the hosts in declared order, batchSize at a time, the last one shorter, for rolling", () => {
    expect(rolloutBatches(hosts, { rollout: "rolling", batchSize: 3 })).to.deep.equal([
      ["a", "b", "c"],
      ["d", "e", "f"],
      ["g", "h"],
    ]);
  });

  it("are one host each for rolling with batchSize 1", () => {
    expect(rolloutBatches(hosts, { rollout: "rolling", batchSize: 1 })).to.deep.equal(
      hosts.map((h) => [h]),
    );
  });
});

describe("the two phases of a host that switches with others", () => {
  const release = builtRelease();

  /** A fresh deploy root holding the artifact's upload, and the steps' arguments for it. */
  function uploaded() {
    const root = release.uploaded();
    return { root, args: stepArgs(root, release.built, OPERATOR) };
  }

  it("prepare with every step before the switch, then the mark, then the lock back", () => {
    const { args } = uploaded();
    const all = hostSteps(args).map((s) => s.name);
    const beforeSwitch = all.slice(0, all.indexOf("promote"));
    expect(prepareSteps(args).map((s) => s.name)).to.deep.equal([
      ...beforeSwitch,
      PREPARED_STEP,
      "unlock",
    ]);
  });

  it("give the lock back on a refusal in every prepare step after the lock, the mark included", () => {
    const { args } = uploaded();
    const unlocking = DEPLOY_STEPS.filter((s) => s.refusalUnlocks).map((s) => s.name as string);
    const handled = prepareSteps(args).filter((s) => s.onRefusal !== undefined);
    expect(handled.map((s) => s.name)).to.deep.equal([
      ...unlocking.filter((n) => n !== "promote" && hostSteps(args).some((s) => s.name === n)),
      PREPARED_STEP,
    ]);
  });

  it("switch with every step of hostSteps, the spared ones behind the mark's guard and the rest unchanged", () => {
    const { args } = uploaded();
    const plain = hostSteps(args);
    const guarded = switchSteps(args, "0123456789abcdef");
    expect(guarded.map((s) => s.name)).to.deep.equal(plain.map((s) => s.name));
    for (const [i, s] of guarded.entries()) {
      const spared = (SPARED_BY_PREPARE as readonly string[]).includes(s.name);
      expect(s.script.endsWith(plain[i].script), s.name).to.equal(true);
      expect(s.script.includes(REUSED), s.name).to.equal(spared);
    }
  });

  it("leave the host on its release and unlocked after the prepare phase, marked with a fresh nonce", () => {
    const { root, args } = uploaded();
    const r = sh(transactionScript(prepareSteps(args)));
    expect(r.code, r.stdout).to.equal(0);
    const l = layout(root);
    expect(fs.existsSync(l.current)).to.equal(false);
    expect(fs.existsSync(l.lock)).to.equal(false);
    expect(fs.existsSync(path.join(l.releases, release.built.releaseId))).to.equal(true);
    const nonce = preparedNonce(r.stdout);
    expect(nonce).to.match(/^[0-9a-f]{16}$/);
    expect(preparedNonce(sh(transactionScript(prepareSteps(args))).stdout)).to.not.equal(nonce);
  });

  it("spare the switch the prepared steps only while the host holds the very mark it was given", () => {
    const { root, args } = uploaded();
    const nonce = preparedNonce(sh(transactionScript(prepareSteps(args))).stdout);
    const spared = SPARED_BY_PREPARE.filter((n) => hostSteps(args).some((s) => s.name === n));
    // Another nonce: every step runs in full.
    const other = sh(transactionScript(switchSteps(args, "f".repeat(16)).slice(0, 3)));
    expect(other.steps.backup).to.not.contain(REUSED);
    const r = sh(transactionScript(switchSteps(args, nonce)));
    expect(r.code, r.stdout).to.equal(0);
    expect(spared.map((n) => r.steps[n].split("\n")[0])).to.deep.equal(spared.map(() => REUSED));
    expect(fs.readlinkSync(layout(root).current)).to.equal(`releases/${release.built.releaseId}`);
    expect(fs.existsSync(layout(root).lock)).to.equal(false);
  });
});

describe("which phase's output a component reads for its step", () => {
  const prepare = { backup: "backup=done", stage: "staged=new", "staged-proof": "passed" };

  it("is the prepare phase's for a step the switch spared or only checked again", () => {
    const sw = { backup: `${REUSED}`, stage: "staged=present", promote: "promoted=switched" };
    expect(phasePart("backup", prepare, sw)).to.equal("backup=done");
    expect(phasePart("stage", prepare, sw)).to.equal("staged=new");
    expect(phasePart("promote", prepare, sw)).to.equal("promoted=switched");
  });

  it("is the switch phase's for a spared step it ran in full, the mark no longer holding", () => {
    expect(phasePart("backup", prepare, { backup: "backup=again" })).to.equal("backup=again");
  });

  it("is the one transaction's when the host deployed in one phase", () => {
    expect(phasePart("stage", {}, { stage: "staged=new" })).to.equal("staged=new");
    expect(phasePart("unlock", {}, {})).to.equal("");
  });
});
