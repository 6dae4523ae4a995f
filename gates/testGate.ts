import * as path from "node:path";
import { SourceConfig } from "../config/source";
import { GateFailure } from "./gate";
import { GateRun } from "./gateRun";
import { ResolvedCommit } from "./git";
import { ranClean, runTests, TestRunResult } from "./testRun";

/** Why a test run does not pass G3, or undefined when it does. */
export function testFailure(r: TestRunResult, cfg: SourceConfig): GateFailure | undefined {
  const last = r.tail.length > 0 ? `; last lines:\n    ${r.tail.join("\n    ")}` : "";
  if (r.timedOut) {
    return {
      gap: `tests did not finish within testTimeoutSeconds=${cfg.testTimeoutSeconds}${last}`,
      next: "make the suite faster or raise the limit: pulumi config set testTimeoutSeconds <seconds>",
    };
  }
  if (r.counts === undefined) {
    return {
      gap: `could not read a test count from the output of \`${r.command}\` (exit ${r.exitCode})${last}`,
      next: "make the runner print its summary (unittest, pytest, mocha or node --test) or a final line 'N passed, N failed'",
    };
  }
  const c = r.counts;
  if (!ranClean(r)) {
    return {
      gap: `tests failed: ${c.passed} passed, ${c.failed} failed of ${c.total} (exit ${r.exitCode})${last}`,
      next: "fix the failing tests in the SSOT repo, commit, then run again",
    };
  }
  if (cfg.expectedTests !== undefined && c.total < cfg.expectedTests) {
    return {
      gap: `ran ${c.total} tests, fewer than expectedTests=${cfg.expectedTests}`,
      next: "find why tests went missing (discovery, a deleted file), or, if removed on purpose: pulumi config set expectedTests <count>",
    };
  }
  return undefined;
}

/** How often G3 says the tests still run. */
export const HEARTBEAT_MS = 15_000;

/** What G3 hands on: the counts of the run that passed. */
export interface TestSummary {
  command: string;
  passed: number;
  failed: number;
  skipped: number;
  total: number;
  cached: boolean;
}

/**
 * G3: the tests of the commit, in a clean export of it, pass with at least `expectedTests`.
 * A result cached by (tree, command) stands in for a run already made.
 */
export async function testGate(
  run: GateRun,
  cfg: SourceConfig,
  commit: ResolvedCommit,
  heartbeatMs = HEARTBEAT_MS,
): Promise<TestSummary> {
  // A suite can run for many minutes: say it still runs, so the run never looks hung.
  const started = Date.now();
  const beat = setInterval(
    () =>
      run.progress(
        `G3 tests: still running after ${Math.round((Date.now() - started) / 1000)}s (testTimeoutSeconds=${cfg.testTimeoutSeconds})`,
      ),
    heartbeatMs,
  );
  const r = await runTests({
    repo: cfg.repo,
    commit: commit.commit,
    tree: commit.tree,
    command: cfg.testCommand,
    timeoutSeconds: cfg.testTimeoutSeconds,
    cacheDir: path.join(cfg.workDir, "cache", "tests"),
  }).finally(() => clearInterval(beat));
  const failure = testFailure(r, cfg);
  if (failure) run.block("G3", failure);
  const c = r.counts!;
  run.pass(
    "G3",
    `${c.passed}/${c.total} passed, ${c.skipped} skipped (${c.format}${r.cached ? ", cached" : ""})`,
  );
  return {
    command: r.command,
    passed: c.passed,
    failed: c.failed,
    skipped: c.skipped,
    total: c.total,
    cached: r.cached,
  };
}
