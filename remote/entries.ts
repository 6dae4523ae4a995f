import { BUILTIN_EXCLUDES } from "../gates/artifact/excludes";
import { findExcluded } from "./preamble";
import { q } from "./sh";

/**
 * sh functions that hold a release tree to its entries list (gates/artifact/entries.ts), the
 * list whose digest the provenance signs, so that nothing the signature does not cover is
 * switched to:
 *
 * - `list_entries DIR`: every entry of DIR in the list's own format and order. An entry the
 *   excludes name is printed once as "x <path>" (what is beneath it is not listed); the links
 *   to shared/ that the stage step made are left out, and checked by `entries_diff`.
 * - `entries_diff DIR ENTRIES`: one line per difference: "extra <entry>" (not in the list: a
 *   planted file, link, directory or special file, or a changed exec bit), "missing <entry>",
 *   and "excluded <path>" (an entry under an excluded path, which a running app may write).
 * - `entry_words`: turns those entries into words for a refusal: "sitecustomize.py (symlink)".
 *
 * The preamble's layout variables ($SHARED) must be set.
 */
export function entriesFunctions(
  exclude: readonly string[],
  sharedFiles: readonly string[],
): string[] {
  const start = '"${1%/}"';
  const excluded = findExcluded([...BUILTIN_EXCLUDES, ...exclude], start);
  const sharedTests = sharedFiles.map((f) => `-path ${start}/${q(f)}`).join(" -o ");
  // A shared file's parent directories that the artifact may not hold: mkdir made them.
  const parents = [
    ...new Set(
      sharedFiles.flatMap((f) =>
        f
          .split("/")
          .slice(0, -1)
          .map((_, i, parts) => `d ${parts.slice(0, i + 1).join("/")}`),
      ),
    ),
  ];
  const find = [
    'find "$1" -mindepth 1',
    ...(sharedTests ? [`\\( -type l \\( ${sharedTests} \\) \\) -prune -o`] : []),
    ...(excluded ? [`${excluded} -prune -printf 'x %P\\0' -o`] : []),
    "-type d -printf 'd %P\\0' -o -type f -perm -u=x -printf 'f x %P\\0' -o",
    "-type f -printf 'f - %P\\0' -o -type l -printf 'l %P\\0' -o -printf '? %P\\0'",
  ].join(" ");
  return [
    // NUL-separated first, so that a newline in a name is escaped, as the list escapes it.
    `list_entries() { ${find} | sed -z 's/\\\\/\\\\\\\\/g; s/\\n/\\\\n/g' | tr '\\0' '\\n' | LC_ALL=C sort; }`,
    "entries_diff() {",
    `  list_entries "$1" | ALLOW=${q(parents.join("\n"))} awk '`,
    '    BEGIN { n = split(ENVIRON["ALLOW"], a, "\\n"); for (i = 1; i <= n; i++) allow[a[i]] = 1 }',
    "    FILENAME == ARGV[1] { want[$0] = 1; next }",
    '    /^x / { print "excluded " substr($0, 3); next }',
    "    ($0 in want) { seen[$0] = 1; next }",
    "    ($0 in allow) { next }",
    '    { print "extra " $0 }',
    '    END { for (k in want) if (!(k in seen)) print "missing " k }\' "$2" -',
    // A shared file's link must point into shared/: anything else there is not covered.
    ...sharedFiles.map(
      (f) =>
        `  [ ! -L "$1"/${q(f)} ] || [ "$(readlink "$1"/${q(f)})" = "$SHARED"/${q(f)} ] || echo ${q(`extra l ${f}`)}`,
    ),
    "}",
    "entry_words() { sed 's|^d \\(.*\\)$|\\1/ (directory)|; s|^f x \\(.*\\)$|\\1 (executable file)|; s|^f - \\(.*\\)$|\\1 (file)|; s|^l \\(.*\\)$|\\1 (symlink)|; s|^? \\(.*\\)$|\\1 (special file)|'; }",
  ];
}

/** An entry of entries_diff's output in words, as entry_words says it. */
export function entryWords(entry: string): string {
  const m = /^(d|f x|f -|l|\?) (.*)$/.exec(entry);
  if (!m) return entry;
  const kind: Record<string, string> = {
    d: "/ (directory)",
    "f x": " (executable file)",
    "f -": " (file)",
    l: " (symlink)",
    "?": " (special file)",
  };
  return `${m[2]}${kind[m[1]]}`;
}
