import { CHAIN_HASH, NOT_SWITCHED, preamble, requireLock } from "./preamble";
import { RECORD_PREVIOUS } from "./revert";
import { q, script } from "./sh";

export interface PromoteArgs {
  /** The layout's root on the target. */
  root: string;
  /** The release `current` moves to. */
  releaseId: string;
  /** Its commit, for the revisions log. */
  commit: string;
  /** Its artifact's sha256, for the revisions log. */
  sha256: string;
  /** Who deploys, for the revisions log. */
  who: string;
  /** The machine deployed from. */
  host: string;
  /** Releases kept side by side, the live one included. */
  keepReleases: number;
  /** This deploy's lock token: the step refuses without the lock. */
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
    `  ${CHAIN_HASH}`,
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
    // What a revert goes back to, recorded before current moves, so that a cut cannot lose it.
    `  ${RECORD_PREVIOUS}`,
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
    '  rm -rf "$d" "$MANIFESTS/$id.sha256sums" "$MANIFESTS/$id.links" "$MANIFESTS/$id.intoto.jsonl" "$UPLOADS/$id".*',
    '  echo "pruned=$id"',
    "done",
  );
}
