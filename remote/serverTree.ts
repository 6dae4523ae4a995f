import { Parser, ReadEntry } from "tar";
import { BUILTIN_EXCLUDES } from "../gates/artifact/excludes";
import { findPrune, preamble } from "./preamble";
import { q, script } from "./sh";

/** A tree on the server, as one read-only pass over it found it. */
export interface ServerTree {
  /** The tree's real path. */
  path: string;
  /** The release the tree is, when it is a directory of releases/. */
  release?: string;
  /** That release's commit, from the revisions log. */
  releaseCommit?: string;
  /** The live release and its commit. */
  live?: string;
  liveCommit?: string;
  /** Regular files by path: sha256 and whether the owner may execute it. */
  files: Map<string, { sha256: string; exec: boolean }>;
  /** Symlinks by path: their targets. */
  links: Map<string, string>;
}

const DATA = "@@data";

/**
 * Hashes every file of `from` in one pass, leaving out what the artifact never holds and the
 * shared files, and says which release the tree is and which commit it came from. Read-only.
 * Names travel NUL-terminated, so any file name survives.
 */
export function serverTreeScript(
  root: string,
  from: string,
  exclude: readonly string[],
  sharedFiles: readonly string[],
): string {
  const prune = findPrune(
    [...BUILTIN_EXCLUDES, ...exclude, ...sharedFiles.map((f) => `/${f}`)],
    ".",
  );
  const commitOf = (v: string) =>
    `[ -f "$REVISIONS" ] && grep -F "\\"releaseId\\":\\"$${v}\\"" "$REVISIONS" | tail -n 1 | sed -n 's/.*"commit":"\\([0-9a-f]*\\)".*/${v}_commit=\\1/p' || true`;
  return script(
    ...preamble(root),
    `FROM=${q(from)}`,
    '[ -d "$FROM" ] || block "$FROM is not a directory on the server"',
    'real=$(cd "$FROM" && pwd -P); echo "path=$real"',
    'rel=$(cd "$RELEASES" 2>/dev/null && pwd -P || true)',
    'release=""',
    'if [ -n "$rel" ]; then case "$real" in "$rel"/*) release=${real#"$rel"/};; esac; fi',
    'case "$release" in */*) release="";; esac',
    'if [ -n "$release" ]; then echo "release=$release"; ' + commitOf("release") + "; fi",
    'live=$(basename "$(readlink "$CURRENT" 2>/dev/null)" 2>/dev/null || true)',
    'if [ -L "$CURRENT" ] && [ -n "$live" ]; then echo "live=$live"; ' + commitOf("live") + "; fi",
    `echo ${DATA}`,
    'cd "$real"',
    `find . ${prune} -type f -print0 | xargs -0 -r sha256sum -z`,
    "printf '@@links\\0'",
    `find . ${prune} -type l -printf '%P\\0%l\\0'`,
    "printf '@@exec\\0'",
    `find . ${prune} -type f -perm -u+x -printf '%P\\0'`,
    "printf '@@end\\0'",
  );
}

/** Reads serverTreeScript's output. Exported for testing. */
export function parseServerTree(stdout: string): ServerTree {
  const at = stdout.indexOf(`\n${DATA}\n`);
  if (at < 0 || !stdout.endsWith("@@end\0"))
    throw new Error(`the tree survey did not finish: ${stdout.slice(-300)}`);
  const kv: Record<string, string> = {};
  for (const line of stdout.slice(0, at).split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) kv[line.slice(0, eq)] = line.slice(eq + 1);
  }
  const records = stdout.slice(at + DATA.length + 2, -1).split("\0");
  const files = new Map<string, { sha256: string; exec: boolean }>();
  const links = new Map<string, string>();
  let i = 0;
  for (; records[i] !== "@@links"; i++) {
    const m = /^([0-9a-f]{64}) [ *]\.\/(.*)$/s.exec(records[i]);
    if (!m) throw new Error(`unreadable hash record: ${JSON.stringify(records[i])}`);
    files.set(m[2], { sha256: m[1], exec: false });
  }
  for (i++; records[i] !== "@@exec"; i += 2) links.set(records[i], records[i + 1]);
  for (i++; records[i] !== "@@end"; i++) {
    const f = files.get(records[i]);
    if (f) f.exec = true;
  }
  return {
    path: kv.path,
    release: kv.release,
    releaseCommit: kv.release_commit,
    live: kv.live,
    liveCommit: kv.live_commit,
    files,
    links,
  };
}

/**
 * Sends the named files of `dir` back as one base64 tar: the change set's contents, fetched in
 * one round trip. Read-only.
 */
export function fetchFilesScript(dir: string, paths: readonly string[]): string {
  const list = Buffer.from(paths.map((p) => `${p}\0`).join("")).toString("base64");
  return script(
    `cd ${q(dir)}`,
    `printf '%s' ${q(list)} | base64 -d | tar --null --no-recursion -T - -cf - | base64 -w 0`,
  );
}

/** Unpacks the base64 tar that fetchFilesScript sends: file contents by path. */
export async function unpackFiles(b64: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const parser = new Parser();
  parser.on("entry", (e: ReadEntry) => {
    const chunks: Buffer[] = [];
    e.on("data", (c: Buffer) => chunks.push(c));
    e.on("end", () => files.set(e.path, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve, reject) => {
    parser.on("end", resolve);
    parser.on("error", reject);
    parser.end(Buffer.from(b64.trim(), "base64"));
  });
  return files;
}
