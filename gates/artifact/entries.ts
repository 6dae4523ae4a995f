/**
 * The entries list of a release: every entry of its tree, one line each, so that its digest,
 * signed in the provenance, covers what the manifest (file contents) and the links file (link
 * targets) cannot: that there is nothing else, and which files are executable. Lines are
 * "d <path>" for a directory, "f x <path>" for an executable file, "f - <path>" for any other
 * file and "l <path>" for a symlink, sorted by their bytes (as `LC_ALL=C sort` sorts them),
 * with a backslash and a newline in a name escaped, as the server's listing escapes them.
 */
export function formatEntries(t: {
  manifest: readonly { path: string; executable: boolean }[];
  symlinks: readonly { path: string }[];
  directoryPaths: readonly string[];
}): string {
  const dirs = new Set(t.directoryPaths);
  // A directory the tar holds implicitly (as a parent only) is still created by tar.
  for (const p of [...t.manifest, ...t.symlinks].map((e) => e.path))
    for (let i = p.indexOf("/"); i > 0; i = p.indexOf("/", i + 1)) dirs.add(p.slice(0, i));
  const lines = [
    ...[...dirs].map((d) => `d ${entryName(d)}`),
    ...t.manifest.map((f) => `f ${f.executable ? "x" : "-"} ${entryName(f.path)}`),
    ...t.symlinks.map((l) => `l ${entryName(l.path)}`),
  ];
  return lines
    .map((l) => Buffer.from(l, "utf8"))
    .sort(Buffer.compare)
    .map((b) => `${b.toString("utf8")}\n`)
    .join("");
}

/** A name as the entries list prints it: a backslash and a newline escaped. */
export function entryName(name: string): string {
  return name.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}
