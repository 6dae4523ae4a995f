import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SimpleGit } from "simple-git";
import { SourceConfig } from "../config/source";
import { short } from "../lib/hash";
import { GateFailure } from "./gate";
import { GateRun } from "./gateRun";
import * as g from "./git";

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

/**
 * G0 on this machine: the SSOT repo is here, a git repository at its top level, and `ref`
 * names a commit of it. The servers' half of G0 is the survey, next in the sequence.
 */
export async function precheck(
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
