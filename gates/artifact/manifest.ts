/** One regular file of the artifact: path relative to the release root, digest, size, mode. */
export interface ManifestEntry {
  path: string;
  sha256: string;
  size: number;
  executable: boolean;
}

/**
 * One line in the format of GNU `sha256sum`, so `sha256sum -c` checks an extracted tree.
 * Names holding a backslash or newline get coreutils' escaped form (a leading backslash).
 */
export function manifestLine(sha256: string, path: string): string {
  const escaped = escapedName(path);
  return escaped === path ? `${sha256}  ${path}\n` : `\\${sha256}  ${escaped}\n`;
}

/** A name as the manifests print it: a backslash and a newline escaped, as sha256sum does. */
export function escapedName(name: string): string {
  return /[\\\n\r]/.test(name)
    ? name.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\r/g, "\\r")
    : name;
}

export function formatManifest(entries: readonly { path: string; sha256: string }[]): string {
  return entries.map((e) => manifestLine(e.sha256, e.path)).join("");
}

/** A name as coreutils escapes it (after its line's leading backslash), back to the name. */
export function unescapeName(escaped: string): string {
  return escaped.replace(/\\(\\|n|r)/g, (_, c: string) =>
    c === "n" ? "\n" : c === "r" ? "\r" : "\\",
  );
}

/** Parses `sha256sum` output back into digest and path. Exported for testing. */
export function parseManifest(text: string): { path: string; sha256: string }[] {
  const out: { path: string; sha256: string }[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const escaped = line.startsWith("\\");
    const body = escaped ? line.slice(1) : line;
    const m = /^([0-9a-f]{64}) [ *](.*)$/.exec(body);
    if (!m) throw new Error(`manifest line is not in sha256sum format: ${JSON.stringify(line)}`);
    const path = escaped ? unescapeName(m[2]) : m[2];
    out.push({ sha256: m[1], path });
  }
  return out;
}

/**
 * The symlinks of a release, one "path TAB target" line each, sorted: what `verify_release`
 * checks with readlink on the server.
 */
export function formatLinks(links: readonly { path: string; target: string }[]): string {
  for (const l of links) {
    if (/[\t\n]/.test(l.path + l.target))
      throw new Error(
        `symlink ${JSON.stringify(l.path)} has a tab or newline in its name or target`,
      );
  }
  return links.map((l) => `${l.path}\t${l.target}\n`).join("");
}
