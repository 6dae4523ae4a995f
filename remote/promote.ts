import { NOT_SWITCHED, preamble, requireLock } from "./layout";
import { q, script } from "./sh";

export interface BackupArgs {
  root: string;
  /** The release about to go live. */
  releaseId: string;
  /** Archives kept in backups/. */
  keep: number;
  lockToken: string;
  /** Whether a live release that no longer matches its manifest may be archived and replaced. */
  acceptDrift: boolean;
  /** The artifact's extra excludes, which verification ignores on the server. */
  exclude?: readonly string[];
}

/**
 * Makes sure the tree live now can be restored after the switch. A live release that still
 * matches its manifest needs no archive: it stays in releases/ (prune keeps the one before the
 * live one) and its commit rebuilds it byte for byte. Anything the SSOT cannot rebuild (a
 * drifted release, a plain directory deployed by hand) is archived into
 * backups/<UTC time>-<name>.tar.gz with its sha256; the newest `keep` archives are kept. A
 * release that drifted after the survey is refused unless drift is accepted.
 */
export function backupScript(a: BackupArgs): string {
  return script(
    ...preamble(a.root, a.exclude),
    requireLock(a.lockToken),
    `ID=${q(a.releaseId)}`,
    'cur=$(readlink "$CURRENT" 2>/dev/null || true)',
    'if [ -z "$cur" ] && [ ! -d "$CURRENT" ]; then echo backup=none; echo backup_kind=none; exit 0; fi',
    'live=$(basename "${cur:-adopted}")',
    'if [ -n "$cur" ] && verify_release "$CURRENT/" "$MANIFESTS/$live.sha256sums" "$MANIFESTS/$live.links"; then',
    '  if [ "$live" = "$ID" ]; then echo backup=not-needed; echo backup_kind=not-needed; else echo "backup=releases/$live"; echo backup_kind=release; fi',
    "  exit 0",
    "fi",
    `[ -z "$cur" ] || [ ${a.acceptDrift ? "yes" : "no"} = yes ] || block "the live release $live no longer matches its manifest (drift since the survey); ${NOT_SWITCHED}; ` +
      'run pulumi preview to see the drift, then npm run reconcile, or pulumi config set acceptDrift true to replace it after a backup"',
    'mkdir -p "$BACKUPS"',
    // Under the lock, a temporary archive is what an interrupted backup left.
    'rm -f "$BACKUPS/"*.tmp-*',
    'B="$BACKUPS/$(date -u +%Y%m%dT%H%M%SZ)-$live.tar.gz"',
    // Written under a temporary name, so a backup that exists is always whole.
    `tar -I 'gzip -1' -cf "$B.tmp-$$" -C "$CURRENT/" . || { rm -f "$B.tmp-$$"; block "backup of the live tree failed; ` +
      `${NOT_SWITCHED}; check free disk under $BACKUPS and run pulumi up again"; }`,
    'sha=$(sha256sum "$B.tmp-$$" | cut -c1-64)',
    'mv "$B.tmp-$$" "$B"',
    'printf \'%s  %s\\n\' "$sha" "$(basename "$B")" > "$B.sha256"',
    'echo "backup=$B"',
    "echo backup_kind=archive",
    'echo "backup_sha256=$sha"',
    `ls -1 "$BACKUPS" | grep '\\.tar\\.gz$' | sort -r | tail -n +${a.keep + 1} | while IFS= read -r old; do ` +
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
}

/**
 * Switches `current` to the release atomically (a new symlink renamed over the old), appends to the hash-chained revisions log, and prunes old
 * releases, never the live one or the one before it. A live plain directory, deployed by hand
 * before this tool, is first moved into releases/ as `adopted-<time>`. The release must have
 * been verified by the stage step of the same transaction, under the same lock.
 */
export function promoteScript(a: PromoteArgs): string {
  const j = (v: string) => q(JSON.stringify(v));
  return script(
    ...preamble(a.root),
    requireLock(a.lockToken),
    `ID=${q(a.releaseId)}`,
    '[ -d "$RELEASES/$ID" ] && [ -f "$MANIFESTS/$ID.sha256sums" ] || ' +
      `block "release $ID is not staged; refusing to switch current to it; ${NOT_SWITCHED}; run pulumi up again to stage it"`,
    'cur=$(readlink "$CURRENT" 2>/dev/null || true)',
    'prev=""',
    'rm -f "$R/.current.tmp-"*',
    "entry() {",
    '  if [ -s "$REVISIONS" ]; then ph="\\"$(tail -n 1 "$REVISIONS" | sha256sum | cut -c1-64)\\""; else ph=null; fi',
    '  if [ -n "$prev" ]; then pj="\\"$prev\\""; else pj=null; fi',
    `  printf '{"time":"%s","releaseId":%s,"commit":%s,"sha256":%s,"who":%s,"host":%s,"previous":%s,"prevHash":%s}\\n' ` +
      `"$(date -u +%Y-%m-%dT%H:%M:%SZ)" ${j(a.releaseId)} ${j(a.commit)} ${j(a.sha256)} ${j(a.who)} ${j(a.host)} "$pj" "$ph" >> "$REVISIONS"`,
    "}",
    'logged() { [ -f "$REVISIONS" ] && tail -n 1 "$REVISIONS" | sed -n \'s/.*"releaseId":"\\([^"]*\\)".*/\\1/p\'; }',
    'if [ "$cur" = "releases/$ID" ]; then',
    "  echo promoted=unchanged",
    // A switch whose log entry was lost (the run was cut between the two) is logged now.
    "  last=$(logged || true)",
    '  [ "$last" = "$ID" ] || { prev=$last; entry; echo revision=repaired; }',
    "else",
    '  [ -n "$cur" ] && prev=$(basename "$cur")',
    '  ln -sfn "releases/$ID" "$R/.current.tmp-$$"',
    '  if [ -d "$CURRENT" ] && [ ! -L "$CURRENT" ]; then',
    '    prev="adopted-$(date -u +%Y%m%dT%H%M%SZ)"',
    '    mv -T "$CURRENT" "$RELEASES/$prev"',
    "  fi",
    '  mv -T "$R/.current.tmp-$$" "$CURRENT"',
    "  entry",
    "  echo promoted=switched",
    "fi",
    'echo "previous=$prev"',
    // The entry that records this release going live, by its chain hash: the attestation's link to the log.
    'rev=$( [ -f "$REVISIONS" ] && grep -F "\\"releaseId\\":\\"$ID\\"" "$REVISIONS" | tail -n 1 || true)',
    'if [ -n "$rev" ]; then echo "revision_sha256=$(printf \'%s\\n\' "$rev" | sha256sum | cut -c1-64)"; fi',
    // Kept: the one before the live release, and keepReleases counting the live one and the
    // newest releases that passed their proof (a layout older than that record counts every
    // logged one). A release that failed its proof, or was staged and never switched to,
    // never takes the place of a good one.
    'keep=$( { echo "$prev"; { echo "$ID"; if [ -f "$PROVED" ]; then tac "$PROVED"; elif [ -f "$REVISIONS" ]; then tac "$REVISIONS" | ' +
      `sed -n 's/.*"releaseId":"\\([^"]*\\)".*/\\1/p'; fi; } | awk '!seen[$0]++' | head -n ${a.keepReleases}; } | sort -u)`,
    'for d in "$RELEASES"/*; do',
    '  [ -d "$d" ] || continue',
    '  id=$(basename "$d")',
    '  printf \'%s\\n\' "$keep" | grep -qxF "$id" && continue',
    '  rm -rf "$d" "$MANIFESTS/$id.sha256sums" "$MANIFESTS/$id.links" "$UPLOADS/$id".*',
    '  echo "pruned=$id"',
    "done",
  );
}
