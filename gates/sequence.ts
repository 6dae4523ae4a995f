import { SourceConfig } from "../config/source";
import { buildArtifact, BuiltArtifact } from "./artifact/build";
import { changeSetGate } from "./changeSet";
import { ChangeSet, GateId, GateResult } from "./gate";
import { discipline } from "./discipline";
import { GateRun } from "./gateRun";
import * as g from "./git";
import { precheck } from "./precheck";
import { testGate, TestSummary } from "./testGate";

/** What the gates hand to the deploy: only produced when every one of them passed. */
export interface SourceResult {
  /** Every gate's result, in the order they ran. */
  gates: GateResult[];
  commit: g.ResolvedCommit;
  /** The source as the provenance names it: its remote URL, or its path (see `sourceUri`). */
  sourceUri: string;
  changeSet: ChangeSet;
  tests: TestSummary;
  artifact: BuiltArtifact;
}

/**
 * The servers' part of the sequence, read-only: the survey after the local G0, and the target
 * check after G4. The survey module implements it; the gates only call it.
 */
export interface ServerChecks {
  /** G0 on the servers; returns the commit live there, which G1 prefers to `baseRef`. */
  survey(run: GateRun, target?: { repo: string; commit: string }): Promise<string | undefined>;
  /** After G4: whether each server already holds the release, and has room for it. */
  checkArtifact(run: GateRun, artifact: BuiltArtifact): Promise<void>;
  /** What a blocked report says the run left on the servers. */
  unchanged(): string;
}

/** The gates after these, listed as SKIPPED in a blocked report. */
export const LATER: GateId[] = ["G5", "G6", "G7"];

/**
 * The gate sequence, in the order it runs, each step before the next and none skipped:
 *
 * 1. G0 on this machine: the SSOT repo is here and `ref` names a commit;
 * 2. G0 on the servers: the read-only survey;
 * 3. G2: the commit is on the mainline, the tracked files clean;
 * 4. G1: the change set since what is live, its sha256s and its secret scan;
 * 5. G3: the tests of the commit;
 * 6. G4: the reproducible artifact;
 * 7. G4 on the servers: the release staged already, and room for it.
 *
 * The first failure throws a BlockedError whose message is the whole blocked report.
 */
export async function runGates(
  cfg: SourceConfig,
  servers: ServerChecks,
  progress: (line: string) => void = () => undefined,
): Promise<SourceResult> {
  // Typed, so that `run.block` (which never returns) narrows what follows it.
  const run: GateRun = new GateRun(
    ["G0", "G2", "G1", "G3", "G4", ...LATER],
    () => servers.unchanged(),
    progress,
  );
  const { git, commit } = await run.step("G0", "this machine", () => precheck(run, cfg));
  const deployed = await run.step("G0", "the servers, read-only", () =>
    servers.survey(run, { repo: cfg.repo, commit: commit.commit }),
  );
  await run.step("G2", "mainline, clean tree", () => discipline(run, git, cfg, commit.commit));
  const changeSet = await run.step("G1", "change set, secret scan", () =>
    changeSetGate(run, git, cfg, commit.commit, deployed),
  );
  const tests = await run.step("G3", cfg.testCommand, () => testGate(run, cfg, commit));
  const artifact = await run.step("G4", "build", async () => {
    const built = await buildArtifact(cfg, commit);
    if ("gap" in built) run.block("G4", built);
    run.pass("G4", built.detail);
    return built;
  });
  await run.step("G4", "the servers: staged already, room", () =>
    servers.checkArtifact(run, artifact),
  );
  return {
    gates: run.results,
    commit,
    sourceUri: await g.sourceUri(git, cfg.repo),
    changeSet,
    tests,
    artifact,
  };
}
