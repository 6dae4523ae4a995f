import { BUILTIN_EXCLUDES } from "./excludes";
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
  };
}

export type Layout = ReturnType<typeof layout>;

/** Where the artifact is uploaded before staging. */
export function uploadPaths(root: string, releaseId: string) {
  return { artifact: `${layout(root).uploads}/${releaseId}.tar.gz` };
}

/**
 * A find(1) expression that prunes what the artifact never holds, for a search starting at
 * `start` (an sh word): bare names match at any depth, slashed patterns from the start. It
 * ends in -o, ready for the test that follows. Exported for testing.
 */
export function findPrune(patterns: readonly string[], start: string): string {
  const tests = patterns.map((p) => {
    const bare = p.replace(/\/$/, "");
    return bare.includes("/") ? `-path ${start}/${q(bare.replace(/^\//, ""))}` : `-name ${q(bare)}`;
  });
  return tests.length === 0 ? "" : `\\( ${tests.join(" -o ")} \\) -prune -o`;
}

/**
 * sh variables for the layout, and `verify_release DIR MANIFEST LINKS`: true when every file
 * of DIR matches MANIFEST, DIR holds no other regular file, and each symlink listed in LINKS
 * (path TAB target) points where it did. Shared-file links are not listed, so they may differ.
 * Files the excludes name (a running app's __pycache__, say) are neither shipped nor counted.
 */
export function preamble(root: string, exclude: readonly string[] = []): string[] {
  const prune = findPrune([...BUILTIN_EXCLUDES, ...exclude], '"${1%/}"');
  const l = layout(root);
  return [
    `R=${q(l.root)}`,
    `RELEASES=${q(l.releases)}`,
    `CURRENT=${q(l.current)}`,
    `SHARED=${q(l.shared)}`,
    `BACKUPS=${q(l.backups)}`,
    `MANIFESTS=${q(l.manifests)}`,
    `UPLOADS=${q(l.uploads)}`,
    `LOCK=${q(l.lock)}`,
    `REVISIONS=${q(l.revisions)}`,
    "verify_release() {",
    '  [ -d "$1" ] && [ -f "$2" ] && [ -f "$3" ] || return 1',
    '  ( cd "$1" && sha256sum -c --quiet --strict "$2" >/dev/null 2>&1 ) || return 1',
    `  [ "$(find "$1" ${prune} -type f -printf . | wc -c)" -eq "$(grep -c "" "$2")" ] || return 1`,
    "  tab=$(printf '\\t')",
    '  while IFS="$tab" read -r p t; do [ "$(readlink "$1/$p")" = "$t" ] || return 1; done < "$3"',
    "}",
  ];
}

/** How every refusal says what it left behind. */
export const NOTHING = "nothing was changed";

/** Fails unless this deploy holds the lock. Every mutating script starts with it. */
export function requireLock(token: string): string {
  return (
    `grep -qxF ${q(`token=${token}`)} "$LOCK/info" 2>/dev/null || ` +
    `block "the deploy lock $LOCK is not held by this deploy; ${NOTHING}; run pulumi up again"`
  );
}
