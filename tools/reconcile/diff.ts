import { escapedName } from "../../gates/artifact/manifest";
import { ServerTree } from "../../remote/serverTree";
import { short } from "../../lib/hash";

/** One path of a change set brought back from the server. */
export interface ReconciledFile {
  path: string;
  kind: "added" | "modified" | "deleted";
  /** sha256 of the file on the server (of the link target's text, for a symlink). */
  sha256?: string;
  /** What to write into the repository: a file (executable or not) or a symlink. */
  mode?: "100644" | "100755" | "120000";
  linkTarget?: string;
}

/** What the base commit ships, as its artifact's manifest and link list say. */
export interface BaseTree {
  files: ReadonlyMap<string, string>;
  links: ReadonlyMap<string, string>;
}

/**
 * The server's tree against the base: every path added, modified or deleted, sorted. A file
 * whose executable bit changed counts as modified. Symlinks compare by target.
 */
export function diffTrees(
  server: Pick<ServerTree, "files" | "links">,
  base: BaseTree,
  sha256OfText: (text: string) => string,
  baseExec: (path: string) => boolean = () => false,
): ReconciledFile[] {
  const out: ReconciledFile[] = [];
  for (const [p, f] of server.files) {
    const mode = f.exec ? "100755" : "100644";
    const before = base.files.get(p);
    if (before === undefined && !base.links.has(p))
      out.push({ path: p, kind: "added", sha256: f.sha256, mode });
    else if (before !== f.sha256 || baseExec(p) !== f.exec)
      out.push({ path: p, kind: "modified", sha256: f.sha256, mode });
  }
  for (const [p, target] of server.links) {
    const before = base.links.get(p);
    if (before === target) continue;
    const kind = before === undefined && !base.files.has(p) ? "added" : "modified";
    out.push({ path: p, kind, sha256: sha256OfText(target), mode: "120000", linkTarget: target });
  }
  for (const p of [...base.files.keys(), ...base.links.keys()])
    if (!server.files.has(p) && !server.links.has(p)) out.push({ path: p, kind: "deleted" });
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Every way the change set differs from the expected manifest (sha256sum lines of the files
 * that changed): a wrong hash, an expected file that did not change, a change not expected.
 * Empty when they agree exactly.
 */
export function expectDifferences(
  changes: readonly ReconciledFile[],
  expected: ReadonlyMap<string, string>,
): string[] {
  const out: string[] = [];
  const changed = new Map(changes.map((c) => [c.path, c]));
  for (const [p, sha] of expected) {
    const c = changed.get(p);
    if (c === undefined)
      out.push(`${p}: expected (sha256 ${short(sha)}) but unchanged on the server`);
    else if (c.kind === "deleted")
      out.push(`${p}: expected (sha256 ${short(sha)}) but deleted on the server`);
    else if (c.sha256 !== sha)
      out.push(`${p}: sha256 ${short(c.sha256!)} on the server, ${short(sha)} expected`);
  }
  for (const c of changes)
    if (!expected.has(c.path))
      out.push(`${c.path}: ${c.kind} on the server but not in the expected manifest`);
  return out;
}

/** What a changed path now holds: a file's sha256, or a symlink's target. */
export function describeContent(c: ReconciledFile): string {
  return c.mode === "120000" ? `symlink -> ${JSON.stringify(c.linkTarget)}` : `sha256 ${c.sha256}`;
}

/** The commit message: what came back, from where, each file's sha256, and the test result. */
export function reconcileMessage(a: {
  stack: string;
  host: string;
  from: string;
  base: string;
  changes: readonly ReconciledFile[];
  tests: string;
}): string {
  const letter = { added: "A", modified: "M", deleted: "D" } as const;
  const counts = (k: ReconciledFile["kind"]) => a.changes.filter((c) => c.kind === k).length;
  return [
    `Reconcile ${a.changes.length} file(s) from ${a.host}:${a.from} (stack ${a.stack})`,
    "",
    `Base ${a.base}; ${counts("modified")} modified, ${counts("added")} added, ${counts("deleted")} deleted.`,
    "",
    ...a.changes.map((c) => {
      const p = escapedName(c.path);
      return c.kind === "deleted"
        ? `${letter[c.kind]} ${p}  (deleted: ${a.host}:${a.from}/${p})`
        : `${letter[c.kind]} ${p}  ${describeContent(c)}  from ${a.host}:${a.from}/${p}`;
    }),
    "",
    `Tests (G3, in a clean export of this tree): ${a.tests}`,
    "",
  ].join("\n");
}
