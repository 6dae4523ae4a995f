import { expect } from "chai";
import * as path from "node:path";
import { parseSourceConfig } from "../../config/source";
import { GateRun } from "../../gates/gateRun";
import { resolveCommit, openRepo } from "../../gates/git";
import { runGates, ServerChecks } from "../../gates/sequence";
import { testGate } from "../../gates/testGate";
import { FixtureRepo, PY_TEST_COMMAND, tempDir } from "../helpers/repo";

/** Servers that hold nothing: the sequence's server steps run and find nothing to say. */
const NO_SERVERS: ServerChecks = {
  survey: async () => undefined,
  checkArtifact: async () => undefined,
  unchanged: () => "no server was contacted",
};

describe("progress as the gates run", function () {
  this.timeout(60_000);
  let repo: FixtureRepo;
  let work: string;
  before(() => {
    repo = FixtureRepo.create();
    work = tempDir();
  });
  after(() => repo.remove());

  it("says when each gate starts and ends, with its duration, in the order they run", async () => {
    const lines: string[] = [];
    const cfg = parseSourceConfig(
      { repo: repo.dir, testCommand: PY_TEST_COMMAND, workDir: work },
      "/",
    );
    await runGates(cfg, NO_SERVERS, (l) => lines.push(l));
    const shape = lines.map((l) => l.replace(/ in \d+\.\ds$/, " in Ns"));
    expect(shape).to.deep.equal([
      "G0 precheck (this machine): started",
      "G0 precheck (this machine): done in Ns",
      "G0 precheck (the servers, read-only): started",
      "G0 precheck (the servers, read-only): done in Ns",
      "G2 SSOT discipline (mainline, clean tree): started",
      "G2 SSOT discipline (mainline, clean tree): done in Ns",
      "G1 change-set survey (change set, secret scan): started",
      "G1 change-set survey (change set, secret scan): done in Ns",
      `G3 tests (${PY_TEST_COMMAND}): started`,
      `G3 tests (${PY_TEST_COMMAND}): done in Ns`,
      "G4 artifact (build): started",
      "G4 artifact (build): done in Ns",
      "G4 artifact (the servers: staged already, room): started",
      "G4 artifact (the servers: staged already, room): done in Ns",
    ]);
  });

  it("says a blocked gate blocked, and how long it took", async () => {
    const lines: string[] = [];
    const cfg = parseSourceConfig(
      { repo: path.join(work, "missing"), testCommand: "true", workDir: work },
      "/",
    );
    await runGates(cfg, NO_SERVERS, (l) => lines.push(l)).catch(() => undefined);
    expect(lines[1]).to.match(/^G0 precheck \(this machine\): BLOCKED after \d+\.\ds$/);
    expect(lines).to.have.length(2);
  });

  it("says the tests still run while they do, at the heartbeat", async () => {
    const lines: string[] = [];
    const run = new GateRun(
      ["G3"],
      () => "",
      (l) => lines.push(l),
    );
    const cfg = parseSourceConfig(
      { repo: repo.dir, testCommand: "sleep 1; echo '1 passed, 0 failed'", workDir: tempDir() },
      "/",
    );
    const commit = (await resolveCommit(openRepo(repo.dir), "HEAD"))!;
    await testGate(run, cfg, commit, 200);
    const beats = lines.filter((l) =>
      /^G3 tests: still running after \d+s \(testTimeoutSeconds=900\)$/.test(l),
    );
    expect(beats.length).to.be.within(3, 6);
  });
});
