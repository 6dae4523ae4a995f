import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { BuiltArtifact } from "../../gates/artifact/build";
import { Invariant, Probe } from "../../config/deploy";
import { blockedLine, KILL_AFTER_SECONDS } from "../../remote/sh";
import { transactionScript } from "../../remote/transaction";
import { hostSteps } from "../../deploy/hostSteps";
import { parseSurvey, surveyScript } from "../../remote/survey";
import { checkChain } from "../../evidence/revisions";
import { SshSession } from "../../survey/ssh";
import {
  deployOver,
  DeployOptions,
  manifestsOf,
  OPERATOR as ME,
  REUPLOAD,
  settings,
  snapshot,
  upload,
} from "../helpers/release";
import { tempDir } from "../helpers/repo";
import { releaseSuite } from "../helpers/releaseSuite";

/** A live probe that fails: the new release is known bad once current has moved to it. */
const FAILS: Probe = {
  name: "health",
  command: "echo 'connection refused'; exit 7",
  expectExit: 0,
  when: "live",
  timeoutSeconds: 30,
};
const FAILED =
  "probe health exited 7 in the live release, expected 0 (last line: connection refused)";
const FIX = "fix the release in the SSOT repo, commit, then run pulumi up";
const KEPT = `the lock is kept until a deploy proves its release; ${FIX}`;

/** The processes, anywhere on this machine (the sshd is local), whose command line has `marker`. */
function processesWith(marker: string): string[] {
  const r = spawnSync("pgrep", ["-af", marker], { encoding: "utf8" });
  return r.stdout.split("\n").filter((l) => l.includes(marker) && !l.includes("pgrep"));
}

describe("probes that cannot hang, and a failed live proof that reverts, over SSH to a real sshd", function () {
  this.timeout(120_000);
  const suite = releaseSuite();
  let ssh: SshSession;
  let work: string;
  let root: string;
  let v1: BuiltArtifact;
  let v2: BuiltArtifact;

  before(() => {
    ({ ssh, work, v1, v2 } = suite.get());
  });
  beforeEach(() => {
    root = path.join(tempDir("ssot-root-"), "app");
  });

  const deploy = (a: BuiltArtifact, o: DeployOptions = {}) => deployOver(ssh, root, a, ME, o);
  const link = () => fs.readlinkSync(path.join(root, "current"));
  const lockHeld = () => fs.existsSync(path.join(root, ".deploy", "lock"));
  const lastRevision = () => {
    const log = fs.readFileSync(path.join(root, ".deploy", "revisions.jsonl"), "utf8");
    const chain = checkChain(log);
    expect(chain.broken, chain.broken?.reason).to.equal(undefined);
    return chain.entries[chain.entries.length - 1].entry as unknown as Record<string, unknown>;
  };
  /** What the server runs: current, the live release's files, shared/ (the kill-switch in it). */
  const onServer = () =>
    Object.fromEntries(
      Object.entries(snapshot(root)).filter(
        ([k]) => k === "current" || k.startsWith(`${link()}/`) || k.startsWith("shared/"),
      ),
    );

  /** v1 live, its kill-switch file edited by hand (other bytes, mode 600) after the deploy. */
  async function v1Live(o: DeployOptions = {}) {
    const first = await deploy(v1, o);
    expect(first.code, first.stdout).to.equal(0);
    const ks = path.join(root, "shared", "kill-switch.json");
    fs.writeFileSync(ks, '{"execution_enabled": false, "set_by": "hand"}\n', { mode: 0o600 });
    fs.chmodSync(ks, 0o600);
  }

  it("kills a staged probe past its timeout with its whole process group, and refuses before the switch with the lock given back", async () => {
    expect((await deploy(v1)).code).to.equal(0);
    const before = onServer();
    // The probe ignores TERM (so does its child), and leaves a grandchild behind it.
    const hangs: Probe = {
      name: "warmup",
      command: "trap '' TERM; (sleep 98761 &); echo warming; sleep 98762",
      expectExit: 0,
      when: "staged",
      timeoutSeconds: 1,
    };
    const started = Date.now();
    const out = await deploy(v2, { probes: [hangs] });
    expect(out.code).to.equal(3);
    expect(out.blocked).to.equal(
      "probe warmup did not finish within 1s in the staged release and was killed with its process group (timeoutSeconds) (last line: warming); " +
        "current was not switched; if the probe needs longer, raise its timeout: pulumi config set --path 'proof[0].timeoutSeconds' 2 (seconds, up to 86400), " +
        "then run pulumi up again; otherwise fix the release in the SSOT repo, commit, then run pulumi up again",
    );
    // TERM at 1 s, which it ignores, then KILL to the whole group.
    expect(Date.now() - started).to.be.below((1 + KILL_AFTER_SECONDS + 20) * 1000);
    expect(processesWith("sleep 9876")).to.deep.equal([]);
    expect(Object.keys(out.steps)).to.not.include("promote");
    expect(onServer()).to.deep.equal(before);
    expect(lockHeld()).to.equal(false);
  });

  it("reverts a release whose live probe fails: current, the kill-switch's bytes and shared/ as before, the revert logged, the lock released", async () => {
    const restarts = path.join(work, `restarts-${path.basename(path.dirname(root))}`);
    const restartCommand = `pwd -P >> '${restarts}'`;
    await v1Live({ restartCommand });
    fs.writeFileSync(path.join(root, "shared", ".env"), "TOKEN_FILE=/etc/app/token\n");
    const before = onServer();
    fs.writeFileSync(restarts, "");

    const out = await deploy(v2, { probes: [FAILS], restartCommand });
    expect(out.code).to.equal(3);
    expect(out.blocked).to.equal(
      `${FAILED}; current was switched back to ${v1.releaseId}, verified against its manifest first, and the kill-switch file restored as it was before this deploy, restartCommand run again in it; ` +
        `the revisions log records the revert and the lock was released; release ${v2.releaseId} stays staged as evidence; ${FIX}`,
    );
    expect(out.steps.proof.reverted_to).to.equal(v1.releaseId);
    expect(onServer()).to.deep.equal(before);
    expect(lockHeld()).to.equal(false);
    // Restarted in v2 after the switch, then in v1 after the revert.
    const real = fs.realpathSync(root);
    expect(fs.readFileSync(restarts, "utf8")).to.equal(
      `${real}/releases/${v2.releaseId}\n${real}/releases/${v1.releaseId}\n`,
    );
    expect(lastRevision()).to.deep.include({
      event: "revert",
      releaseId: v1.releaseId,
      commit: v1.commit,
      sha256: v1.sha256,
      who: ME.holder,
      host: ME.host,
      from: v2.releaseId,
      to: v1.releaseId,
      why: FAILED,
    });
    expect(fs.existsSync(path.join(root, "releases", v2.releaseId))).to.equal(true);
    expect(fs.existsSync(path.join(root, ".deploy", "before"))).to.equal(false);

    // The next survey reads the revert, for the next up's attestation, and takes the release
    // before v1 (none), not the reverted v2, as what a rollback from v1 goes back to.
    const survey = parseSurvey(
      (await ssh.run(surveyScript(root, "kill-switch.json", []))).stdout,
      0,
    );
    expect(survey.live).to.equal(v1.releaseId);
    expect(survey.livePrevious).to.equal(undefined);
    expect(survey.lastRevert).to.deep.include({
      from: v2.releaseId,
      to: v1.releaseId,
      why: FAILED,
    });

    // The server is on a good release: the next deploy of one goes through.
    const again = await deploy(v2);
    expect(again.code, again.stdout).to.equal(0);
    expect(link()).to.equal(`releases/${v2.releaseId}`);
  });

  it("counts a live probe that hangs past its timeout as failed, and reverts", async () => {
    await v1Live();
    const before = onServer();
    const hangs: Probe = { ...FAILS, command: "sleep 98763", timeoutSeconds: 1 };
    const out = await deploy(v2, { probes: [hangs] });
    expect(out.code).to.equal(3);
    expect(out.blocked).to.match(
      /^probe health did not finish within 1s in the live release and was killed with its process group \(timeoutSeconds\); current was switched back to /,
    );
    expect(processesWith("sleep 98763")).to.deep.equal([]);
    expect(onServer()).to.deep.equal(before);
    expect(lockHeld()).to.equal(false);
  });

  /** v2 deployed over the live v1 with one invariant that printed "12" before: the run's result. */
  async function withInvariant(invariant: Invariant) {
    await upload(ssh, root, v2);
    const steps = hostSteps({
      deploy: { ...settings(root), invariants: [invariant] },
      artifact: v2,
      ...manifestsOf(v2),
      lock: { ...ME, artifact: v2.sha256 },
      exclude: [],
      invariantsBefore: ["12"],
      driftReconciled: false,
      reupload: REUPLOAD,
    });
    return ssh.exec("sh -s", Buffer.from(transactionScript(steps)));
  }
  /** What the refusal says after a revert from v2 to v1. */
  const revertedText = () =>
    `current was switched back to ${v1.releaseId}, verified against its manifest first, and the kill-switch file restored as it was before this deploy; the revisions log records the revert and the lock was released; release ${v2.releaseId} stays staged as evidence; ${FIX}`;

  it("reverts a release after which an invariant prints something else than before it", async () => {
    await v1Live();
    const before = onServer();
    const r = await withInvariant({ name: "rows", command: "echo 13", timeoutSeconds: 120 });
    expect(r.code).to.equal(3);
    expect(blockedLine(r.stdout)).to.equal(
      `invariant rows changed: it printed "12" before the deploy and "13" after; ${revertedText()}`,
    );
    expect(onServer()).to.deep.equal(before);
    expect(lockHeld()).to.equal(false);
  });

  it("counts an invariant that hangs past its own timeoutSeconds as failed, killed with its process group, and reverts", async () => {
    await v1Live();
    const before = onServer();
    const started = Date.now();
    const r = await withInvariant({
      name: "rows",
      command: "sleep 300; echo 12",
      timeoutSeconds: 2,
    });
    expect(Date.now() - started).to.be.below(30_000);
    expect(r.code).to.equal(3);
    expect(blockedLine(r.stdout)).to.equal(
      `invariant rows did not finish within 2s and was killed with its process group (timeoutSeconds); ${revertedText()}`,
    );
    expect(onServer()).to.deep.equal(before);
    expect(lockHeld()).to.equal(false);
  });

  it("moves nothing and keeps the lock when a first deploy's live probe fails: there is nothing to revert to", async () => {
    const out = await deploy(v1, { probes: [FAILS] });
    expect(out.code).to.equal(3);
    expect(out.blocked).to.equal(
      `${FAILED}; current stays on ${v1.releaseId}: no release was live before it (a first deploy), so there is nothing to revert to and nothing was moved; ${KEPT}`,
    );
    expect(link()).to.equal(`releases/${v1.releaseId}`);
    expect(lockHeld()).to.equal(true);
  });

  it("does not switch back to a previous release tampered with after it was live, and keeps the lock", async () => {
    await v1Live();
    const tampered = path.join(root, "releases", v1.releaseId, "app", "service.py");
    // The tampering happens after the switch, while v2 is live: the probe itself does it.
    const probe = {
      ...FAILS,
      command: `echo '# changed' >> '${tampered}'; exit 7`,
      name: "health",
    };
    const out = await deploy(v2, { probes: [probe] });
    expect(out.code).to.equal(3);
    expect(out.blocked).to.equal(
      `probe health exited 7 in the live release, expected 0; current stays on ${v2.releaseId}: the release live before it, ${v1.releaseId}, does not match its manifest (app/service.py), so it was not switched back to and nothing was moved; ${KEPT}`,
    );
    expect(link()).to.equal(`releases/${v2.releaseId}`);
    expect(lockHeld()).to.equal(true);
    expect(lastRevision()).to.deep.include({ releaseId: v2.releaseId, previous: v1.releaseId });
  });

  it("keeps the new release live with onLiveFailure keep, naming the release to roll back to", async () => {
    await v1Live();
    const out = await deploy(v2, { probes: [FAILS], onLiveFailure: "keep" });
    expect(out.code).to.equal(3);
    expect(out.blocked).to.equal(
      `${FAILED}; current was switched and stays on ${v2.releaseId} (onLiveFailure is keep); ${KEPT}, or roll back: pulumi config set release ${v1.releaseId}, then pulumi up`,
    );
    expect(link()).to.equal(`releases/${v2.releaseId}`);
    expect(lockHeld()).to.equal(true);
  });
});
