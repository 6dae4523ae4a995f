import { SimpleGit } from "simple-git";
import { SourceConfig } from "../config/source";
import { short } from "../lib/hash";
import { GateRun } from "./gateRun";
import * as g from "./git";
import { firstTen } from "../lib/text";

/**
 * G2, SSOT discipline: the commit is on the mainline and the tracked files are clean, so what
 * ships is a commit of the source of truth and nothing else. A rollback to a kept release
 * builds nothing from the working tree, so `kept` names the release and skips the tree check.
 */
export async function discipline(
  run: GateRun,
  git: SimpleGit,
  cfg: SourceConfig,
  commit: string,
  kept?: string,
): Promise<void> {
  const what = kept ? `release ${kept}` : `ref ${cfg.ref}`;
  const reachable = await g.reachableFrom(git, commit, cfg.branch);
  if (reachable === undefined) {
    run.block("G2", {
      gap: `branch "${cfg.branch}" does not exist in ${cfg.repo}`,
      next: "set the mainline that releases come from: pulumi config set branch <branch>",
    });
  }
  if (!reachable) {
    run.block("G2", {
      gap: `commit ${short(commit)} (${what}) is not reachable from ${cfg.branch}`,
      next: `merge it into ${cfg.branch} first, or deploy a commit of ${cfg.branch}: pulumi config set ref <commit on ${cfg.branch}>`,
    });
  }
  const dirty = kept ? [] : await g.dirtyTrackedFiles(git);
  if (dirty.length > 0) {
    run.block("G2", {
      gap: `${dirty.length} tracked file(s) in ${cfg.repo} have uncommitted changes: ${firstTen(dirty)}`,
      next: "commit the changes to the mainline (or git stash them), then run again",
    });
  }
  const up = await g.upstreamStatus(git, cfg.branch);
  const sync = up ? `${up.ahead} ahead, ${up.behind} behind ${up.upstream}` : "no upstream";
  const tree = kept ? "working tree not read (nothing is built)" : "tracked files clean";
  run.pass("G2", `${short(commit)} is on ${cfg.branch}; ${tree}; ${sync}`);
}
