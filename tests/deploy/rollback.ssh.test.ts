import { expect } from "chai";
import { createPublicKey } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { StackOutputs } from "../../tools/outputs";
import { renderChecks } from "../../tools/verify/run";
import { readStatus, renderStatus } from "../../tools/status";
import { snapshot } from "../helpers/release";
import { savedAttestation, signingKeyPair, verifyAgainst } from "../helpers/attest";
import { refusalOf } from "../helpers/catalogue";
import { EngineRun } from "../../testbed/events";
import { engineStack, sshStackConfig, sshSuite } from "../helpers/stack";
import { FixtureRepo, PY_TEST_COMMAND } from "../helpers/repo";

describe("rolling back to a kept release by `release`, over SSH to a real sshd, through pulumi up", function () {
  this.timeout(180_000);
  const suite = sshSuite();
  const held = engineStack();
  const signer = signingKeyPair();
  let runs: string;
  let first: StackOutputs;
  let v1: string;
  let v2: string;
  let cfg: (over?: Record<string, string>) => Record<string, string>;

  const up = (over: Record<string, string> = {}): Promise<EngineRun> => held.stack.up(cfg(over));
  const current = () => fs.readlinkSync(path.join(suite.root, "current"));

  before(async () => {
    runs = path.join(suite.work, "test-runs");
    cfg = (over = {}) =>
      sshStackConfig(suite.repo.dir, suite.work, suite.sshd, {
        // Each run of the suite leaves a line: what shows that a rollback ran none.
        testCommand: `echo run >> '${runs}' && ${PY_TEST_COMMAND}`,
        attestationKey: signer.privateKey,
        ...over,
      });
    const a = await up();
    if (a.error) throw a.error;
    first = a.outputs!;
    v1 = first.artifact.releaseId;
    suite.repo.commit("v2", { "app/VERSION": "2\n" });
    const b = await up();
    if (b.error) throw b.error;
    v2 = b.outputs!.artifact.releaseId;
  });

  it("keeps the release's signed provenance and test result beside it, as its first deploy attested them", () => {
    const kept = fs.readFileSync(
      path.join(suite.root, ".deploy", "manifests", `${v1}.intoto.jsonl`),
      "utf8",
    );
    const envelopes = kept
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as unknown);
    expect(envelopes).to.deep.equal(first.attestation.envelopes.slice(0, 2));
  });

  it("lists in npm run status which releases a rollback by release can take, once their evidence verifies with the public key given", async () => {
    const read = (stack: string, publicKey?: string) =>
      readStatus({
        raw: cfg(),
        privateKey: suite.sshd.userKey.privateKey,
        stack,
        ...(publicKey ? { publicKey: createPublicKey(publicKey) } : {}),
      });
    const [checked] = await read(held.stack.name, signer.publicKey);
    expect(renderStatus([checked])).to.contain(
      `  release      ${v1}: matches its manifest, proved, evidence verified with the key given: pulumi config set release ${v1} rolls back to it without testing again`,
    );
    const [unchecked] = await read(held.stack.name);
    expect(renderStatus([unchecked])).to.contain(
      `  release      ${v1}: matches its manifest, proved, evidence kept but not checked: run again with --public-key <file.pub> (the stack's attestation public key) to see whether a rollback can take it`,
    );
    expect(renderStatus([unchecked])).to.not.contain("rolls back to it");
    const [other] = await read("elsewhere", signer.publicKey);
    expect(renderStatus([other])).to.contain(
      `  release      ${v1}: matches its manifest, proved, evidence NOT trusted: it was signed for project ssot-deploy, stack ${held.stack.name}, not for this one (project ssot-deploy, stack elsewhere); roll back to it by ref (tests again)`,
    );
  });

  it("switches back without building, uploading or testing, from a dirty tree and an empty work directory", async () => {
    fs.appendFileSync(path.join(suite.repo.dir, "app", "service.py"), "# not committed\n");
    fs.rmSync(path.join(suite.work, "local"), { recursive: true, force: true });
    const testRuns = fs.readFileSync(runs, "utf8");
    const releases = snapshot(path.join(suite.root, "releases"));
    const logins = suite.sshd.logins();

    const run = await up({ release: v1, testCommand: "false" });

    expect(run.error, run.error?.message).to.equal(undefined);
    const out = run.outputs!;
    expect(current()).to.equal(`releases/${v1}`);
    expect(fs.readFileSync(runs, "utf8")).to.equal(testRuns);
    expect(fs.existsSync(path.join(suite.work, "local", "artifacts"))).to.equal(false);
    expect(snapshot(path.join(suite.root, "releases"))).to.deep.equal(releases);
    // A kept release is never uploaded: no upload is declared, so the engine drops v2's from
    // the state (the command provider's CopyToRemote has no delete: it connects to nothing and
    // removes nothing) and creates none.
    const uploads = run.resources.filter((r) => r.name.endsWith("-upload"));
    expect(uploads.map((r) => `${r.op} ${r.name}`)).to.deep.equal(["delete web1-release-upload"]);
    // The survey's read-only session, once for up's preview and once for the update, and the
    // transaction's one: no upload's, and the kept evidence is read within the survey's.
    expect(suite.sshd.logins() - logins).to.equal(3);
    const gate = (id: string) => out.gates.find((g) => g.id === id)!.detail;
    expect(gate("G3")).to.match(/^not run again: release \S+'s signed test result/);
    // G1 claims of the first deploy's scan only what its signed provenance records.
    expect(gate("G1")).to.match(
      /not scanned again: its signed provenance records the scan at its first deploy: \d+ scanned, \d+ binary or large, 0 secret findings$/,
    );
    expect(gate("G4")).to.match(/^not built: release /);
    expect(gate("G2")).to.contain("working tree not read");
    expect(out.artifact).to.include({ releaseId: v1, commit: first.artifact.commit, kept: true });
    expect(out.tests).to.deep.include({ passed: first.tests.passed, total: first.tests.total });
  });

  it("attests the rollback with the first deploy's statements as they were, which verify with the stack's public key", async () => {
    const run = await up({ release: v1 });
    expect(run.error, run.error?.message).to.equal(undefined);
    const out = run.outputs!;
    const b = out.attestation;
    expect(b.statements.slice(0, 2)).to.deep.equal(first.attestation.statements.slice(0, 2));
    expect(b.envelopes.slice(0, 2)).to.deep.equal(first.attestation.envelopes.slice(0, 2));
    expect(b.statements[2].statement.predicate).to.include({ releaseId: v1, result: "no change" });
    const checks = await verifyAgainst(savedAttestation(out), cfg({ release: v1 }), {
      publicKey: signer.publicKey,
    });
    const { text } = renderChecks(checks);
    expect(
      checks.filter((c) => c.outcome === "FAILED"),
      text,
    ).to.deep.equal([]);
    expect(checks.filter((c) => c.outcome === "ok").length, text).to.be.greaterThan(3);
  });

  it("runs the stack's staged probes in the kept release before the switch, since its proved record is not signed", async () => {
    const probe = JSON.stringify([{ name: "staged-gate", command: "echo no; exit 3" }]);
    const run = await up({ release: v2, proof: probe });
    expect(refusalOf(run.error)).to.match(/staged-gate/);
    expect(current()).to.equal(`releases/${v1}`);
    expect(fs.existsSync(path.join(suite.root, ".deploy", "lock"))).to.equal(false);
  });

  /** An up that the gates refuse: its gap and its whole report, nothing registered or changed. */
  async function refused(over: Record<string, string>) {
    const before = snapshot(suite.root);
    const run = await up(over);
    expect(run.code).to.equal(1);
    expect(run.error!.message).to.contain("FINAL RESULT: BLOCKED_WITH_EXACT_GAP");
    expect(run.resources).to.deep.equal([]);
    expect(snapshot(suite.root)).to.deep.equal(before);
    return { gap: refusalOf(run.error), message: run.error!.message };
  }

  it("refuses a release that is not staged, naming the releases it can roll back to", async () => {
    const err = await refused({ release: "0123456789ab-01234567" });
    expect(err.gap).to.equal(
      "release 0123456789ab-01234567 is not staged on web1 (it was never deployed there, or retention removed it)",
    );
    expect(err.message).to.match(
      new RegExp(
        `^next action: .*releases this stack can roll back to on web1: ${[v1, v2].sort().join(", ")}`,
        "m",
      ),
    );
  });

  it("refuses a release changed on the server, naming the file that differs", async () => {
    const file = path.join(suite.root, "releases", v2, "app", "service.py");
    const text = fs.readFileSync(file, "utf8");
    fs.appendFileSync(file, "# edited on the server\n");
    try {
      const err = await refused({ release: v2 });
      expect(err.gap).to.equal(
        `release ${v2} on web1 does not match its manifest (app/service.py differs): it was changed after it was staged`,
      );
      expect(err.message).to.match(new RegExp(`^next action: .*roll back to on web1: ${v1}`, "m"));
    } finally {
      fs.writeFileSync(file, text);
    }
  });

  it("refuses evidence that another key signed, and a stack with no key at all", async () => {
    const other = signingKeyPair();
    const err = await refused({ release: v2, attestationKey: other.privateKey });
    expect(err.gap).to.match(
      new RegExp(
        `^the evidence kept with release ${v2} on web1 is not trusted: no signature by key `,
      ),
    );
    const unsigned = await refused({ release: v2, attestationKey: "" });
    expect(unsigned.gap).to.equal(
      `release is set to ${v2}, but attestationKey is empty, so the evidence kept with it (its signed test result and provenance) cannot be checked`,
    );
  });

  it("refuses a release whose commit is not in the source repo", async () => {
    const other = FixtureRepo.create({ "README.md": "another repository\n" });
    try {
      const err = await refused({ release: v1, repo: other.dir });
      expect(err.gap).to.equal(
        `release ${v1} was built from commit ${first.artifact.commit.slice(0, 12)}, which is not in ${other.dir}`,
      );
    } finally {
      other.remove();
    }
  });

  it("refuses a release that never passed its proof, and one whose beforeSwitch failed", async () => {
    suite.repo.commit("v3", { "app/VERSION": "3\n" });
    const probe = JSON.stringify([{ name: "fails", command: "false" }]);
    const unproved = await up({ proof: probe });
    expect(unproved.error?.message).to.contain("fails");
    const v3 = fs
      .readdirSync(path.join(suite.root, "releases"))
      .find((r) => r !== v1 && r !== v2 && !r.startsWith("."))!;
    const err = await refused({ release: v3 });
    expect(err.gap).to.equal(
      `release ${v3} on web1 never passed its proof (staged, but never proved live)`,
    );

    suite.repo.commit("v4", { "app/VERSION": "4\n" });
    const hook = JSON.stringify([{ name: "build-venv", command: "exit 7" }]);
    const failed = await up({ beforeSwitch: hook });
    expect(failed.error?.message).to.contain("build-venv");
    const log = fs.readFileSync(path.join(suite.root, ".deploy", "failed"), "utf8");
    const v4 = log.trim().split("\n").pop()!.split(" ")[0];
    const gone = await refused({ release: v4 });
    expect(gone.gap).to.match(
      new RegExp(
        `^release ${v4} failed its beforeSwitch on web1 \\(\\S+ build-venv\\) and was removed$`,
      ),
    );
    expect(current()).to.equal(`releases/${v1}`);
  });
});
