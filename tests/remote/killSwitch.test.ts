import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { killSwitchStepScript, renderKillSwitch } from "../../remote/killSwitch";
import { KillSwitchSpec, Probe } from "../../config/deploy";
import { NOT_SWITCHED } from "../../remote/preamble";
import { proofScript, stagedProofScript } from "../../remote/proof";
import { blockedLine, keyValues } from "../../remote/sh";
import { tempDir } from "../helpers/repo";

const OFF: KillSwitchSpec = {
  file: "kill-switch.json",
  key: "execution_enabled",
  format: "json",
  value: false,
};
const ON: KillSwitchSpec = { ...OFF, value: true };

const sh = (text: string) => {
  const r = spawnSync("sh", ["-s"], { input: text, encoding: "utf8" });
  return {
    code: r.status,
    stdout: r.stdout,
    kv: keyValues(r.stdout),
    blocked: blockedLine(r.stdout),
  };
};

/** A layout with one release, live, whose only file is app.py, and the kill-switch at `ks`. */
function layout(ks: KillSwitchSpec): { root: string; id: string } {
  const root = tempDir();
  const id = "r1";
  const rel = path.join(root, "releases", id);
  fs.mkdirSync(rel, { recursive: true });
  fs.writeFileSync(path.join(rel, "app.py"), "print('ok')\n");
  const digest = createHash("sha256").update("print('ok')\n").digest("hex");
  fs.mkdirSync(path.join(root, ".deploy", "manifests"), { recursive: true });
  fs.writeFileSync(
    path.join(root, ".deploy", "manifests", `${id}.sha256sums`),
    `${digest}  app.py\n`,
  );
  fs.writeFileSync(path.join(root, ".deploy", "manifests", `${id}.links`), "");
  fs.mkdirSync(path.join(root, "shared"));
  fs.writeFileSync(path.join(root, "shared", ks.file), renderKillSwitch(ks));
  fs.symlinkSync(`releases/${id}`, path.join(root, "current"));
  return { root, id };
}

/** What a failed live check leads to in these tests: the lock kept, current left. */
const KEEP = { onLiveFailure: "keep" as const, lockToken: "t", who: "op", host: "laptop" };

const read = (root: string) =>
  fs.readFileSync(path.join(root, "shared", "kill-switch.json"), "utf8");

describe("the kill-switch around the switch", () => {
  it("writes a declared OFF before the switch and reads it back", () => {
    const { root } = layout(ON);
    const r = sh(killSwitchStepScript(root, "r2", OFF, NOT_SWITCHED));
    expect(r.code).to.equal(0);
    expect(read(root)).to.equal('{"execution_enabled":false}\n');
    expect(Buffer.from(r.kv.killswitch_b64, "base64").toString()).to.equal(read(root));
  });

  it("never writes a declared ON before the switch: the step only reads what is there", () => {
    const { root } = layout(OFF);
    const r = sh(killSwitchStepScript(root, "r2", ON, NOT_SWITCHED));
    expect(r.code).to.equal(0);
    expect(r.kv.killswitch_on).to.equal("after-switch");
    expect(read(root)).to.equal('{"execution_enabled":false}\n');
  });

  it("writes a declared ON in the proof, once current is the new release, and reads it back", () => {
    const { root, id } = layout(OFF);
    const r = sh(
      proofScript({
        root,
        releaseId: id,
        killSwitch: ON,
        probes: [],
        invariants: [],
        onFailure: KEEP,
      }),
    );
    expect(r.code, r.stdout).to.equal(0);
    expect(read(root)).to.equal('{"execution_enabled":true}\n');
    expect(r.kv.proof).to.equal("passed");
  });

  it("refuses to write the kill-switch where a directory stands, leaving it as it was", () => {
    const { root } = layout(OFF);
    const file = path.join(root, "shared", "kill-switch.json");
    fs.rmSync(file);
    fs.mkdirSync(file);
    const r = sh(killSwitchStepScript(root, "r2", OFF, NOT_SWITCHED));
    expect(r.code).to.equal(3);
    expect(r.blocked).to.equal(
      `the kill-switch file ${file} is a directory, so execution_enabled=false cannot be written; ${NOT_SWITCHED}`,
    );
    expect(fs.readdirSync(file)).to.deep.equal([]);
  });
});

describe("the probes around the switch", () => {
  const probes: Probe[] = [
    { name: "staged-ok", command: "pwd", expectExit: 0, when: "staged", timeoutSeconds: 5 },
    { name: "live-ok", command: "pwd", expectExit: 0, when: "live", timeoutSeconds: 5 },
  ];

  it("runs staged probes in the staged release and live probes in current, each once", () => {
    const { root, id } = layout(OFF);
    const args = { root, releaseId: id, killSwitch: OFF, probes, invariants: [], onFailure: KEEP };
    const staged = sh(stagedProofScript(args));
    expect(staged.kv).to.deep.include({ probe_0_exit: "0", staged_proof: "passed" });
    expect(staged.kv).to.not.have.property("probe_1_exit");
    const after = sh(proofScript(args));
    expect(after.kv).to.deep.include({ probe_1_exit: "0", proof: "passed" });
    expect(after.kv).to.not.have.property("probe_0_exit");
  });

  it("refuses a failing staged probe with its last line, saying current was not switched", () => {
    const { root, id } = layout(OFF);
    const failing: Probe[] = [
      {
        name: "imports",
        command: "echo first; echo 'ImportError: x'; exit 2",
        expectExit: 0,
        when: "staged",
        timeoutSeconds: 5,
      },
    ];
    const r = sh(
      stagedProofScript({
        root,
        releaseId: id,
        killSwitch: OFF,
        probes: failing,
        invariants: [],
        onFailure: KEEP,
      }),
    );
    expect(r.code).to.equal(3);
    expect(r.blocked).to.equal(
      "probe imports exited 2 in the staged release, expected 0 (last line: ImportError: x); current was not switched; fix the release in the SSOT repo, commit, then run pulumi up again",
    );
  });

  it("records an invariant with no before as not measured, and holds one with a before to it", () => {
    const { root, id } = layout(OFF);
    const r = sh(
      proofScript({
        root,
        releaseId: id,
        killSwitch: OFF,
        probes: [],
        onFailure: KEEP,
        invariants: [
          { name: "first", command: "echo vm", timeoutSeconds: 120 },
          { name: "rows", command: "echo 12", before: "12", timeoutSeconds: 120 },
          { name: "moved", command: "echo 13", before: "12", timeoutSeconds: 120 },
        ],
      }),
    );
    expect(r.kv).to.deep.include({
      invariant_0: "unmeasured",
      invariant_1: "same",
      invariant_2: "changed",
    });
    expect(r.blocked).to.equal(
      'invariant moved changed: it printed "12" before the deploy and "13" after; current was switched and stays on r1 (onLiveFailure is keep); the lock is kept until a deploy proves its release; fix the release in the SSOT repo, commit, then run pulumi up',
    );
  });
});
