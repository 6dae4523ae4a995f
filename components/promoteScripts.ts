import { NOTHING, preamble, requireLock } from "./layout";
import { q, script } from "./sh";

/**
 * Archives the tree that is live now into backups/<UTC time>-<release>.tar.gz with its sha256,
 * unless the target is already live or nothing is. Keeps the newest `keep` backups.
 */
export function backupScript(
  root: string,
  releaseId: string,
  keep: number,
  lockToken: string,
): string {
  return script(
    ...preamble(root),
    requireLock(lockToken),
    `ID=${q(releaseId)}`,
    'cur=$(readlink "$CURRENT" 2>/dev/null || true)',
    'if [ -z "$cur" ] && [ ! -d "$CURRENT" ]; then echo backup=none; exit 0; fi',
    'if [ "$cur" = "releases/$ID" ]; then echo backup=not-needed; exit 0; fi',
    'live=$(basename "${cur:-adopted}")',
    'mkdir -p "$BACKUPS"',
    'B="$BACKUPS/$(date -u +%Y%m%dT%H%M%SZ)-$live.tar.gz"',
    // Written under a temporary name, so a backup that exists is always whole.
    'tar -czf "$B.tmp-$$" -C "$CURRENT/" . || { rm -f "$B.tmp-$$"; block "backup of the live tree failed; ' +
      `${NOTHING}; check free disk under $BACKUPS and run pulumi up again"; }`,
    'sha=$(sha256sum "$B.tmp-$$" | cut -c1-64)',
    'mv "$B.tmp-$$" "$B"',
    'printf \'%s  %s\\n\' "$sha" "$(basename "$B")" > "$B.sha256"',
    'echo "backup=$B"',
    'echo "backup_sha256=$sha"',
    `ls -1 "$BACKUPS" | grep '\\.tar\\.gz$' | sort -r | tail -n +${keep + 1} | while IFS= read -r old; do ` +
      'rm -f "$BACKUPS/$old" "$BACKUPS/$old.sha256"; echo "backup_pruned=$old"; done',
  );
}

export interface PromoteArgs {
  root: string;
  releaseId: string;
  commit: string;
  sha256: string;
  /** Who deploys, for the revisions log. */
  who: string;
  host: string;
  keepReleases: number;
  lockToken: string;
  /** The artifact's extra excludes, which verification ignores on the server. */
  exclude?: readonly string[];
}

/**
 * Verifies the release against its manifest, then switches `current` to it atomically (a new
 * symlink renamed over the old), appends to the hash-chained revisions log, and prunes old
 * releases, never the live one or the one before it. A live plain directory, deployed by hand
 * before this tool, is first moved into releases/ as `adopted-<time>`.
 */
export function promoteScript(a: PromoteArgs): string {
  const j = (v: string) => q(JSON.stringify(v));
  return script(
    ...preamble(a.root, a.exclude),
    requireLock(a.lockToken),
    `ID=${q(a.releaseId)}`,
    'verify_release "$RELEASES/$ID" "$MANIFESTS/$ID.sha256sums" "$MANIFESTS/$ID.links" || ' +
      `block "release $ID does not match its manifest (tampered or incomplete); refusing to switch current to it; ${NOTHING}; run pulumi up again to stage it afresh"`,
    'cur=$(readlink "$CURRENT" 2>/dev/null || true)',
    'prev=""',
    'if [ "$cur" = "releases/$ID" ]; then',
    "  echo promoted=unchanged",
    "else",
    '  [ -n "$cur" ] && prev=$(basename "$cur")',
    '  ln -sfn "releases/$ID" "$R/.current.tmp-$$"',
    '  if [ -d "$CURRENT" ] && [ ! -L "$CURRENT" ]; then',
    '    prev="adopted-$(date -u +%Y%m%dT%H%M%SZ)"',
    '    mv -T "$CURRENT" "$RELEASES/$prev"',
    "  fi",
    '  mv -T "$R/.current.tmp-$$" "$CURRENT"',
    '  if [ -s "$REVISIONS" ]; then ph="\\"$(tail -n 1 "$REVISIONS" | sha256sum | cut -c1-64)\\""; else ph=null; fi',
    '  if [ -n "$prev" ]; then pj="\\"$prev\\""; else pj=null; fi',
    `  printf '{"time":"%s","releaseId":%s,"commit":%s,"sha256":%s,"who":%s,"host":%s,"previous":%s,"prevHash":%s}\\n' ` +
      `"$(date -u +%Y-%m-%dT%H:%M:%SZ)" ${j(a.releaseId)} ${j(a.commit)} ${j(a.sha256)} ${j(a.who)} ${j(a.host)} "$pj" "$ph" >> "$REVISIONS"`,
    "  echo promoted=switched",
    "fi",
    'echo "previous=$prev"',
    // Kept: the live release, the one before it, and the newest promoted ones from the log.
    'keep=$( { echo "$ID"; echo "$prev"; [ -f "$REVISIONS" ] && tac "$REVISIONS" | ' +
      `sed -n 's/.*"releaseId":"\\([^"]*\\)".*/\\1/p' | awk '!seen[$0]++' | head -n ${a.keepReleases}; } | sort -u)`,
    'for d in "$RELEASES"/*; do',
    '  [ -d "$d" ] || continue',
    '  id=$(basename "$d")',
    '  printf \'%s\\n\' "$keep" | grep -qxF "$id" && continue',
    '  rm -rf "$d" "$MANIFESTS/$id.sha256sums" "$MANIFESTS/$id.links" "$UPLOADS/$id".*',
    '  echo "pruned=$id"',
    "done",
  );
}
