import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SimpleGit } from "simple-git";
import { buildArtifact, BuiltArtifact } from "./artifact/build";
import { ChangeSet, findingsFailure, summarize, surveyChangeSet } from "./changeSet";
import { SourceConfig } from "../config/source";
import { GateRun } from "./gateRun";
import { GateFailure, GateId, GateResult } from "./gate";
import * as g from "./git";
import { short } from "../lib/hash";
import { ranClean, runTests, TestRunResult } from "./testRun";

/** What the gates on this machine hand to the deploy: only produced when all of G0–G4 pass. */
export interface SourceResult {
  gates: GateResult[];
  commit: g.ResolvedCommit;
  /** The source as the provenance names it: its remote URL, or its path (see `sourceUri`). */
  sourceUri: string;
  changeSet: ChangeSet;
  tests: {
    command: string;
    passed: number;
    failed: number;
    skipped: number;
    total: number;
    cached: boolean;
  };
  artifact: BuiltArtifact;
}

export interface SourceGateOptions {
  /**
   * Runs right after the local precheck (G0), and may block: the read-only server survey.
   * Returns the commit live on the server, which G1 prefers to `baseRef`.
   */
  afterPrecheck?: (run: GateRun, commit: g.ResolvedCommit) => Promise<string | undefined>;
  /** Runs after G4 with the artifact, and may block: room and staging on the servers. */
  afterArtifact?: (run: GateRun, artifact: BuiltArtifact) => Promise<void>;
  /** Gates that run after these, listed as SKIPPED in a blocked report. */
  laterGates?: GateId[];
  /** What a blocked report says about the servers, asked when a gate blocks. */
  unchanged?: () => string;
}

const ORDER: GateId[] = ["G0", "G2", "G1", "G3", "G4"];

/** The seed's case: the deploy was started on a machine that does not hold the SSOT repo. */
export function missingRepo(
  repo: string,
  host: string,
  what = "the deploy",
  rerun = "pulumi preview / pulumi up",
): GateFailure {
  return {
    gap: `the SSOT repo ${repo} does not exist on this machine (${host}); ${what} must run from the machine that holds the SSOT repo`,
    next: `run ${rerun} again on the machine where ${repo} is present, or set its path there: pulumi config set repo <path>`,
  };
}

/** G0's checks of the repository itself: present, a directory, a git top level. */
export async function checkRepo(
  run: GateRun,
  cfg: SourceConfig,
  missing: (repo: string, host: string) => GateFailure = missingRepo,
): Promise<SimpleGit> {
  const host = os.hostname();
  const stat = await fs.promises.stat(cfg.repo).catch(() => undefined);
  if (!stat) run.block("G0", missing(cfg.repo, host));
  if (!stat.isDirectory()) {
    run.block("G0", {
      gap: `repo ${cfg.repo} is a file, not a directory`,
      next: "pulumi config set repo <path of the clone>",
    });
  }
  const git = g.openRepo(cfg.repo);
  const top = await g.repoTopLevel(git);
  if (top === undefined) {
    run.block("G0", {
      gap: `repo ${cfg.repo} is not a git repository`,
      next: "point repo at a clone of the SSOT repository: pulumi config set repo <path of the clone>",
    });
  }
  if (path.resolve(top) !== (await fs.promises.realpath(cfg.repo))) {
    run.block("G0", {
      gap: `repo ${cfg.repo} is inside the repository at ${top}, not its top level`,
      next: `pulumi config set repo ${top}`,
    });
  }
  return git;
}

async function precheck(
  run: GateRun,
  cfg: SourceConfig,
): Promise<{ git: SimpleGit; commit: g.ResolvedCommit }> {
  const host = os.hostname();
  const git = await checkRepo(run, cfg);
  const commit = await g.resolveCommit(git, cfg.ref);
  if (!commit) {
    run.block("G0", {
      gap: `ref "${cfg.ref}" does not resolve to a commit in ${cfg.repo}`,
      next: `check the name (git -C ${cfg.repo} log --oneline ${cfg.branch}), fetch it if it is remote, then pulumi config set ref <commit, tag or branch>`,
    });
  }
  run.pass(
    "G0",
    `repo ${cfg.repo} on ${host}; ref ${cfg.ref} -> ${short(commit.commit)} "${commit.subject}"`,
  );
  return { git, commit };
}

async function discipline(
  run: GateRun,
  git: SimpleGit,
  cfg: SourceConfig,
  commit: string,
): Promise<void> {
  const reachable = await g.reachableFrom(git, commit, cfg.branch);
  if (reachable === undefined) {
    run.block("G2", {
      gap: `branch "${cfg.branch}" does not exist in ${cfg.repo}`,
      next: "set the mainline that releases come from: pulumi config set branch <branch>",
    });
  }
  if (!reachable) {
    run.block("G2", {
      gap: `commit ${short(commit)} (ref ${cfg.ref}) is not reachable from ${cfg.branch}`,
      next: `merge it into ${cfg.branch} first, or deploy a commit of ${cfg.branch}: pulumi config set ref <commit on ${cfg.branch}>`,
    });
  }
  const dirty = await g.dirtyTrackedFiles(git);
  if (dirty.length > 0) {
    const shown =
      dirty.slice(0, 10).join(", ") + (dirty.length > 10 ? ` and ${dirty.length - 10} more` : "");
    run.block("G2", {
      gap: `${dirty.length} tracked file(s) in ${cfg.repo} have uncommitted changes: ${shown}`,
      next: "commit the changes to the mainline (or git stash them), then run again",
    });
  }
  const up = await g.upstreamStatus(git, cfg.branch);
  const sync = up ? `${up.ahead} ahead, ${up.behind} behind ${up.upstream}` : "no upstream";
  run.pass("G2", `${short(commit)} is on ${cfg.branch}; tracked files clean; ${sync}`);
}

async function resolveBase(run: GateRun, git: SimpleGit, cfg: SourceConfig, deployed?: string) {
  if (deployed) {
    const live = await g.resolveCommit(git, deployed);
    if (!live) {
      run.block("G1", {
        gap: `the commit live on the server, ${short(deployed)}, is not in ${cfg.repo}: the server is ahead of the source of truth`,
        next: `fetch it into ${cfg.repo} if it was pushed elsewhere; otherwise bring the server's tree into the repo with npm run reconcile, review and merge, then run again`,
      });
    }
    return { commit: live.commit, source: "server" as const };
  }
  if (!cfg.baseRef) return undefined;
  const base = await g.resolveCommit(git, cfg.baseRef);
  if (!base) {
    run.block("G1", {
      gap: `baseRef "${cfg.baseRef}" does not resolve to a commit in ${cfg.repo}`,
      next: "pulumi config set baseRef <commit or tag deployed now>, or remove it: pulumi config rm baseRef",
    });
  }
  return { commit: base.commit, source: "baseRef" as const };
}

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

/**
 * Runs gates G0, G2, G1, G3 and G4 in that order on this machine, each before the next. The
 * first failure throws a BlockedError whose message is the full blocked report.
 */
export async function runSourceGates(
  cfg: SourceConfig,
  opts: SourceGateOptions = {},
): Promise<SourceResult> {
  const run: GateRun = new GateRun(
    [...ORDER, ...(opts.laterGates ?? [])],
    opts.unchanged ?? (() => "No resource was registered and no server was contacted."),
  );
  const { git, commit } = await precheck(run, cfg);
  const deployed = await opts.afterPrecheck?.(run, commit);
  await discipline(run, git, cfg, commit.commit);

  const base = await resolveBase(run, git, cfg, deployed);
  const { changeSet, findings } = await surveyChangeSet(
    git,
    cfg.repo,
    base,
    commit.commit,
    cfg.exclude,
  );
  run.changeSet = changeSet;
  if (findings.length > 0) run.block("G1", findingsFailure(findings));
  run.pass("G1", summarize(changeSet));

  const r = await runTests({
    repo: cfg.repo,
    commit: commit.commit,
    tree: commit.tree,
    command: cfg.testCommand,
    timeoutSeconds: cfg.testTimeoutSeconds,
    cacheDir: path.join(cfg.workDir, "cache", "tests"),
  });
  const failure = testFailure(r, cfg);
  if (failure) run.block("G3", failure);
  const c = r.counts!;
  run.pass(
    "G3",
    `${c.passed}/${c.total} passed, ${c.skipped} skipped (${c.format}${r.cached ? ", cached" : ""})`,
  );

  const built = await buildArtifact(cfg, commit);
  if ("gap" in built) run.block("G4", built);
  run.pass("G4", built.detail);
  await opts.afterArtifact?.(run, built);

  return {
    gates: run.results,
    commit,
    sourceUri: await g.sourceUri(git, cfg.repo),
    changeSet,
    tests: {
      command: r.command,
      passed: c.passed,
      failed: c.failed,
      skipped: c.skipped,
      total: c.total,
      cached: r.cached,
    },
    artifact: built,
  };
}
