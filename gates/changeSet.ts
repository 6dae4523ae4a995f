import { SimpleGit } from "simple-git";
import { ExcludeFilter } from "./artifact/excludes";
import { ChangedFile, ChangeSet, GateFailure } from "./gate";
import * as g from "./git";
import { diffNameStatus, NameStatus } from "./git";
import { GateRun } from "./gateRun";
import { SourceConfig } from "../config/source";
import { sha256Hex, short } from "../lib/hash";
import { Finding, SCANNER_ID, ScanResult, scanCommit } from "./secretScan";
import { BUILTIN_EXCLUDES } from "./artifact/excludes";
import { readThrough } from "../lib/cache";
import * as path from "node:path";

/** Sorts a diff into the change set's lists. Exported for testing. */
export function classify(
  diff: readonly NameStatus[],
  ships: (path: string) => boolean,
  sha256: ReadonlyMap<string, string>,
): Pick<ChangeSet, "added" | "modified" | "deleted" | "renamed" | "excluded"> {
  const out = { added: [], modified: [], deleted: [], renamed: [], excluded: [] } as Pick<
    ChangeSet,
    "added" | "modified" | "deleted" | "renamed" | "excluded"
  >;
  for (const d of diff) {
    if (d.status === "D") {
      out.deleted.push(d.path);
      continue;
    }
    if (!ships(d.path)) {
      out.excluded.push(d.path);
      continue;
    }
    const file: ChangedFile = { path: d.path, sha256: sha256.get(d.path) };
    if (d.status === "A" || d.status === "C") out.added.push(file);
    else if (d.status === "R") out.renamed.push({ ...file, from: d.from });
    else out.modified.push(file);
  }
  return out;
}

export function summarize(cs: ChangeSet): string {
  const base =
    cs.base === null ? "no base (first deploy)" : `base ${short(cs.base)} (${cs.baseSource})`;
  return (
    `${base} -> ${short(cs.target)}: ${cs.added.length} added, ${cs.modified.length} modified, ` +
    `${cs.deleted.length} deleted, ${cs.renamed.length} renamed; ${cs.artifactFiles} files to ship, ` +
    `${cs.scan.scanned} scanned, ${cs.scan.skipped} binary or large, ${cs.scan.findings} secret findings`
  );
}

export function findingsFailure(findings: readonly Finding[]): GateFailure {
  const shown = findings.slice(0, 10).map((f) => `${f.file}:${f.line} (${f.rule})`);
  const more = findings.length > shown.length ? ` and ${findings.length - shown.length} more` : "";
  return {
    gap: `secret scan found ${findings.length} finding(s) in files that would ship: ${shown.join(", ")}${more}`,
    next:
      "remove each secret from the code and rotate it (it is in the git history), or, if a finding " +
      "is not a secret, end that line with a `secretlint-disable-line` comment; commit, then run again",
  };
}

/**
 * Gate G1's survey: what changed between base and target, the sha256 of every file that
 * ships, and a secret scan of each of those files.
 */
export async function surveyChangeSet(
  git: SimpleGit,
  repo: string,
  base: { commit: string; source: "server" | "baseRef" } | undefined,
  target: string,
  exclude: readonly string[],
  cacheDir?: string,
): Promise<{ changeSet: ChangeSet; findings: Finding[]; cached: boolean }> {
  const filter = new ExcludeFilter(exclude);
  const ships = (p: string) => !filter.excludes(p);
  const { scan, cached } = await scanShipped(git, repo, target, exclude, ships, cacheDir);
  const diff = base ? await diffNameStatus(git, base.commit, target) : [];
  const changeSet: ChangeSet = {
    base: base?.commit ?? null,
    baseSource: base?.source ?? "none",
    target,
    ...classify(diff, ships, scan.sha256),
    artifactFiles: scan.sha256.size,
    scan: { scanned: scan.scanned, skipped: scan.skipped, findings: scan.findings.length },
  };
  return { changeSet, findings: scan.findings, cached };
}

/**
 * The hash and scan of every file of `target` that ships. Both are a function of the commit's
 * tree, the excludes and the scanner alone: with `cacheDir`, a result made before for them is
 * read back instead of reading every file again (a preview and its up scan the tree once).
 */
async function scanShipped(
  git: SimpleGit,
  repo: string,
  target: string,
  exclude: readonly string[],
  ships: (path: string) => boolean,
  cacheDir?: string,
): Promise<{ scan: ScanResult; cached: boolean }> {
  if (cacheDir === undefined) return { scan: await scanCommit(repo, target, ships), cached: false };
  const tree = (await git.revparse([`${target}^{tree}`])).trim();
  const key = sha256Hex(JSON.stringify([tree, BUILTIN_EXCLUDES, exclude, SCANNER_ID]));
  const { value, cached } = await readThrough(path.join(cacheDir, `${key}.json`), async () => {
    const s = await scanCommit(repo, target, ships);
    return { ...s, sha256: [...s.sha256] };
  });
  return { scan: { ...value, sha256: new Map(value.sha256) }, cached };
}

/** The base G1 compares against: the commit live on the servers, else `baseRef`, else none. */
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

/**
 * G1, the change-set survey: every file added, modified, deleted or renamed since the base,
 * the sha256 of each that ships, and a secret scan of each. `deployed` is the commit the
 * survey found live.
 */
export async function changeSetGate(
  run: GateRun,
  git: SimpleGit,
  cfg: SourceConfig,
  commit: string,
  deployed: string | undefined,
): Promise<ChangeSet> {
  const base = await resolveBase(run, git, cfg, deployed);
  const { changeSet, findings, cached } = await surveyChangeSet(
    git,
    cfg.repo,
    base,
    commit,
    cfg.exclude,
    path.join(cfg.workDir, "cache", "scan"),
  );
  run.changeSet = changeSet;
  if (findings.length > 0) run.block("G1", findingsFailure(findings));
  run.pass("G1", summarize(changeSet) + (cached ? " (scan of this tree cached)" : ""));
  return changeSet;
}

/**
 * G1 of a rollback to a kept release: the change set from what is live to it, by name. The
 * scan is not run again: the line says what the signed provenance records of the first deploy's
 * scan, and nothing when it records none. G1 does not grow with the release.
 */
export async function keptChangeSetGate(
  run: GateRun,
  git: SimpleGit,
  cfg: SourceConfig,
  kept: {
    commit: string;
    releaseId: string;
    files: number;
    scan?: { scanned: number; skipped: number; findings: number };
  },
  deployed: string | undefined,
): Promise<ChangeSet> {
  const base = await resolveBase(run, git, cfg, deployed);
  const filter = new ExcludeFilter(cfg.exclude);
  const diff = base ? await diffNameStatus(git, base.commit, kept.commit) : [];
  const changeSet: ChangeSet = {
    base: base?.commit ?? null,
    baseSource: base?.source ?? "none",
    target: kept.commit,
    ...classify(diff, (p) => !filter.excludes(p), new Map()),
    artifactFiles: kept.files,
    scan: {
      scanned: kept.scan?.scanned ?? 0,
      skipped: kept.scan?.skipped ?? 0,
      findings: kept.scan?.findings ?? 0,
      keptFrom: kept.releaseId,
      keptRecorded: kept.scan !== undefined,
    },
  };
  run.changeSet = changeSet;
  const from =
    changeSet.base === null ? "no base" : `base ${short(changeSet.base)} (${changeSet.baseSource})`;
  run.pass(
    "G1",
    `${from} -> ${short(kept.commit)}: ${changeSet.added.length} added, ${changeSet.modified.length} modified, ` +
      `${changeSet.deleted.length} deleted, ${changeSet.renamed.length} renamed; ${kept.files} files, ` +
      // Only what the signed evidence records is claimed of the first deploy.
      (kept.scan
        ? `not scanned again: its signed provenance records the scan at its first deploy: ${kept.scan.scanned} scanned, ${kept.scan.skipped} binary or large, ${kept.scan.findings} secret findings`
        : `not scanned: its signed evidence records no secret scan`),
  );
  return changeSet;
}
