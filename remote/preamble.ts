import { BUILTIN_EXCLUDES } from "../gates/artifact/excludes";
import { q } from "./sh";

/** Paths of the Capistrano-style layout under a deploy root. */
export function layout(root: string) {
  const deploy = `${root}/.deploy`;
  return {
    root,
    releases: `${root}/releases`,
    current: `${root}/current`,
    shared: `${root}/shared`,
    backups: `${root}/backups`,
    deploy,
    manifests: `${deploy}/manifests`,
    uploads: `${deploy}/uploads`,
    lock: `${deploy}/lock`,
    revisions: `${deploy}/revisions.jsonl`,
    /** Release ids whose post-deploy proof passed, oldest first: what retention keeps. */
    proved: `${deploy}/proved`,
  };
}

export type Layout = ReturnType<typeof layout>;

/** Where the artifact is uploaded before staging. */
export function uploadPaths(root: string, releaseId: string) {
  return { artifact: `${layout(root).uploads}/${releaseId}.tar.gz` };
}

/**
 * A find(1) test that matches what the artifact never holds, for a search starting at `start`
 * (an sh word): bare names match at any depth, slashed patterns from the start. Empty when there
 * is no pattern. Exported for testing.
 */
export function findExcluded(patterns: readonly string[], start: string): string {
  const tests = patterns.map((p) => {
    const bare = p.replace(/\/$/, "");
    return bare.includes("/") ? `-path ${start}/${q(bare.replace(/^\//, ""))}` : `-name ${q(bare)}`;
  });
  return tests.length === 0 ? "" : `\\( ${tests.join(" -o ")} \\)`;
}

/**
 * A find(1) expression that prunes what the artifact never holds (findExcluded), ending in -o,
 * ready for the test that follows. Exported for testing.
 */
export function findPrune(patterns: readonly string[], start: string): string {
  const t = findExcluded(patterns, start);
  return t === "" ? "" : `${t} -prune -o`;
}

/**
 * sh variables for the layout, and `verify_release DIR MANIFEST LINKS`: true when every file
 * of DIR matches MANIFEST, DIR holds no other regular file, and each symlink listed in LINKS
 * (path TAB target) points where it did. Shared-file links are not listed, so they may differ.
 * `first_differing DIR MANIFEST` names the first file whose content differs, for a refusal.
 * Files the excludes name (a running app's __pycache__, say) are neither shipped nor counted.
 * The manifest is hashed in two halves at once: hashing is most of a verify, and servers have
 * more than one core. MANIFEST and LINKS must be absolute paths.
 */
export function preamble(root: string, exclude: readonly string[] = []): string[] {
  const prune = findPrune([...BUILTIN_EXCLUDES, ...exclude], '"${1%/}"');
  const l = layout(root);
  const half = (n: 1 | 2) =>
    `( cd "$1" && sed -n '${n}~2p' "$2" | sha256sum -c --quiet --strict - >/dev/null 2>&1 )`;
  return [
    // The whole layout in one command: each step uses the part it needs.
    "# shellcheck disable=SC2034",
    `R=${q(l.root)} \\`,
    `  RELEASES=${q(l.releases)} \\`,
    `  CURRENT=${q(l.current)} \\`,
    `  SHARED=${q(l.shared)} \\`,
    `  BACKUPS=${q(l.backups)} \\`,
    `  MANIFESTS=${q(l.manifests)} \\`,
    `  UPLOADS=${q(l.uploads)} \\`,
    `  LOCK=${q(l.lock)} \\`,
    `  REVISIONS=${q(l.revisions)} \\`,
    `  PROVED=${q(l.proved)}`,
    "verify_release() {",
    '  [ -d "$1" ] && [ -f "$2" ] && [ -f "$3" ] || return 1',
    '  _vn=$(grep -c "" "$2" || true)',
    '  if [ "$_vn" -gt 1 ]; then',
    `    ${half(1)} & _vp=$!`,
    `    ${half(2)} || { wait "$_vp" || true; return 1; }`,
    '    wait "$_vp" || return 1',
    '  elif [ "$_vn" -eq 1 ]; then',
    '    ( cd "$1" && sha256sum -c --quiet --strict "$2" >/dev/null 2>&1 ) || return 1',
    "  fi",
    `  [ "$(find "$1" ${prune} -type f -printf . | wc -c)" -eq "$_vn" ] || return 1`,
    "  _vt=$(printf '\\t')",
    '  while IFS="$_vt" read -r _vl _vd; do [ "$(readlink "$1/$_vl")" = "$_vd" ] || return 1; done < "$3"',
    "}",
    // For a refusal: the first file of DIR whose content differs from MANIFEST, if any.
    'first_differing() { [ -f "$2" ] && ( cd "$1" 2>/dev/null && sha256sum -c --quiet "$2" 2>/dev/null | sed -n "s/: FAILED.*//p" | head -n 1 ) || true; }',
    // The lock's fields, and its age on one clock: the server's, which wrote its "since"
    // (the directory's mtime only when "since" is missing, as in a lock from an old version).
    'lock_field() { sed -n "s/^$1=//p" "$LOCK/info" 2>/dev/null | head -n 1; }',
    'lock_age() { _lt=$(date -d "$(lock_field since)" +%s 2>/dev/null || stat -c %Y "$LOCK"); echo $(( $(date +%s) - _lt )); }',
    // A process's start time, empty once it has ended (a zombie not yet reaped included): a pid
    // alone may have been reused.
    'started() { sed \'s/.*) //\' "/proc/$1/stat" 2>/dev/null | awk \'$1 != "Z" && $1 != "X" { print $20 }\'; }',
    // Whether the shell that took the lock still runs: the lock records its pid and start time.
    'lock_holder_alive() { _lp=$(lock_field pid); [ -n "$_lp" ] && [ -n "$(lock_field start)" ] && [ "$(started "$_lp")" = "$(lock_field start)" ]; }',
  ];
}

/**
 * Sets $ph to the revisions log's chain link for the next entry: the sha256 of its last line
 * (newline included) as a JSON string, or null for the first entry.
 */
export const CHAIN_HASH =
  'if [ -s "$REVISIONS" ]; then ph="\\"$(tail -n 1 "$REVISIONS" | sha256sum | cut -c1-64)\\""; else ph=null; fi';

/** How a refusal that only read (the survey, the gates) says what it left behind. */
export const NOTHING = "nothing was changed";

/**
 * How a refusal inside the deploy transaction, before the switch, says what it left: the lock
 * was taken and an upload may have landed, so "nothing" would not be true; the live release
 * is what did not move.
 */
export const NOT_SWITCHED = "current was not switched";

/** Fails unless this deploy holds the lock. Every mutating script starts with it. */
export function requireLock(token: string): string {
  return (
    `grep -qxF ${q(`token=${token}`)} "$LOCK/info" 2>/dev/null || ` +
    `block "the deploy lock $LOCK is not held by this deploy; ${NOT_SWITCHED}; run pulumi up again"`
  );
}

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
