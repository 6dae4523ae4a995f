import { SimpleGit } from "simple-git";
import { ExcludeFilter } from "./artifact/excludes";
import { GateFailure } from "./gate";
import { diffNameStatus, NameStatus } from "./git";
import { Finding, scanCommit } from "./secretScan";
import { short } from "../lib/hash";

/** A changed path; `sha256` is set when the file goes into the artifact. */
export interface ChangedFile {
  path: string;
  from?: string;
  sha256?: string;
}

export interface ChangeSet {
  /** The commit compared against, or null on a first deploy with no baseRef. */
  base: string | null;
  /** Where the base came from: the server's live release, `baseRef`, or nowhere. */
  baseSource: "server" | "baseRef" | "none";
  target: string;
  added: ChangedFile[];
  modified: ChangedFile[];
  deleted: string[];
  renamed: ChangedFile[];
  /** Changed paths that the excludes keep out of the artifact. */
  excluded: string[];
  artifactFiles: number;
  scan: { scanned: number; skipped: number; findings: number };
}

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
): Promise<{ changeSet: ChangeSet; findings: Finding[] }> {
  const filter = new ExcludeFilter(exclude);
  const ships = (p: string) => !filter.excludes(p);
  const scan = await scanCommit(repo, target, ships);
  const diff = base ? await diffNameStatus(git, base.commit, target) : [];
  const changeSet: ChangeSet = {
    base: base?.commit ?? null,
    baseSource: base?.source ?? "none",
    target,
    ...classify(diff, ships, scan.sha256),
    artifactFiles: scan.sha256.size,
    scan: { scanned: scan.scanned, skipped: scan.skipped, findings: scan.findings.length },
  };
  return { changeSet, findings: scan.findings };
}
