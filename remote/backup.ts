import { NOT_SWITCHED, preamble, requireLock } from "./preamble";
import { q, script } from "./sh";

export interface BackupArgs {
  /** The layout's root on the target. */
  root: string;
  /** The release about to go live. */
  releaseId: string;
  /** Archives kept in backups/. */
  keep: number;
  /** This deploy's lock token: the step refuses without the lock. */
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
    // Without acceptDrift, drift that appeared after the survey refuses.
    ...(a.acceptDrift
      ? []
      : [
          `[ -z "$cur" ] || block "the live release $live no longer matches its manifest (drift since the survey); ${NOT_SWITCHED}; ` +
            'run pulumi preview to see the drift, then npm run reconcile, or pulumi config set acceptDrift true to replace it after a backup"',
        ]),
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
    // Archives are named by their UTC time, so the glob lists them oldest first: all but the
    // newest `keep` go.
    'n=0; for f in "$BACKUPS"/*.tar.gz; do [ ! -e "$f" ] || n=$((n + 1)); done',
    `drop=$((n - ${a.keep}))`,
    'for f in "$BACKUPS"/*.tar.gz; do',
    '  [ "$drop" -gt 0 ] || break',
    '  [ -e "$f" ] || continue',
    '  rm -f "$f" "$f.sha256"; echo "backup_pruned=${f##*/}"; drop=$((drop - 1))',
    "done",
  );
}

/** What was done so that the tree live before the switch can be restored. */
export interface BackupResult {
  /** "archive" (a .tar.gz), "release" (kept intact in releases/), "none" or "not-needed". */
  kind: string;
  /** The archive's path, or releases/<id>; "none" when nothing was live. */
  path: string;
  sha256: string | undefined;
}
