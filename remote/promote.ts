import { KillSwitchSpec } from "../config/deploy";
import { releaseLockLine } from "./lock";
import { CHAIN_HASH, NOT_SWITCHED, preamble, requireLock } from "./preamble";
import { inDirLines, q, script } from "./sh";

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

// The switch back: what a revert needs recorded before the switch, and the revert itself.

/**
 * Where a deploy records, before it changes them, what a revert puts back: the kill-switch
 * file's bytes (or that there was none) and the release `current` named before the switch. An
 * sh word; it needs $R and $ID. Removed once a release is proved, or reverted from.
 */
export const BEFORE = '"$R/.deploy/before/$ID"';

/**
 * Lines for the kill-switch step, before it writes: the file $F as it is now, copied with its
 * mode into the record. Only while `current` is not the release yet: a run re-entered after
 * the switch finds the kill-switch already written by this deploy, and keeps the record the
 * run before the switch made.
 */
export function recordKillSwitchLines(): string[] {
  return [
    `B=${BEFORE}`,
    'if [ "$(readlink "$CURRENT" 2>/dev/null || true)" != "releases/$ID" ]; then',
    '  rm -rf "$B"; mkdir -p "$B"',
    '  if [ -f "$F" ]; then cp -p "$F" "$B/killswitch"; elif [ ! -e "$F" ]; then : > "$B/killswitch.absent"; fi',
    "fi",
  ];
}

/** A line for the switch, before `current` moves: the release it named, $prev ("" when none). */
export const RECORD_PREVIOUS = `mkdir -p ${BEFORE} && printf '%s\\n' "$prev" > ${BEFORE}/current`;

export interface LiveFailureArgs {
  /** "revert": back to the release live before, verified first; "keep": current stays. */
  onLiveFailure: "revert" | "keep";
  /** The kill-switch file, which a revert gives back the bytes it had. */
  killSwitch: Pick<KillSwitchSpec, "file">;
  /** Run again in the release reverted to; nothing is restarted when unset. */
  restartCommand?: string;
  /** This deploy's lock token: a complete revert gives the lock back. */
  lockToken: string;
  /** Who deploys, for the revisions log. */
  who: string;
  /** The machine deployed from, for the revisions log. */
  host: string;
}

/**
 * `live_failed GAP`: what a live probe or invariant that failed after the switch leads to,
 * ending in a refusal that names GAP, what was done, and the next action. With "keep", current
 * stays on the new release and the lock is kept. With "revert", the release live before this
 * deploy is verified against its manifest; only then does current move back to it (a new
 * symlink renamed over it, as the switch does), the kill-switch file gets back the bytes it
 * had, restartCommand runs again, the revisions log gets a revert entry, and the lock goes
 * back: the server is on a verified release again. Whatever prevents that (a first deploy, a
 * release that was live already, a previous release that no longer matches its manifest)
 * moves nothing and keeps the lock, saying so.
 */
export function liveFailureLines(a: LiveFailureArgs): string[] {
  const fix = "fix the release in the SSOT repo, commit, then run pulumi up";
  const kept = `the lock is kept until a deploy proves its release; ${fix}`;
  if (a.onLiveFailure === "keep")
    return [
      "live_failed() {",
      `  prev=$(cat ${BEFORE}/current 2>/dev/null || true)`,
      `  block "$1; current was switched and stays on $ID (onLiveFailure is keep); ${kept}\${prev:+, or roll back: pulumi config set release $prev, then pulumi up}"`,
      "}",
    ];
  const j = (v: string) => q(JSON.stringify(v));
  const restart =
    a.restartCommand === undefined
      ? ["  restarted="]
      : [
          ...inDirLines("$CURRENT", a.restartCommand).map((l) => `  ${l}`),
          `  [ "$code" -eq 0 ] || block "$1; current was switched back to $prev, verified against its manifest, and the kill-switch file restored, but restartCommand exited $code in it; the lock is kept; bring the service up on $prev by hand, then run pulumi up"`,
          '  restarted=", restartCommand run again in it"',
        ];
  return [
    "live_failed() {",
    `  B=${BEFORE}`,
    `  [ -f "$B/current" ] || block "$1; current stays on $ID: it was live before this deploy, so there is nothing to revert to and nothing was moved; ${kept}"`,
    '  prev=$(cat "$B/current")',
    `  [ -n "$prev" ] || block "$1; current stays on $ID: no release was live before it (a first deploy), so there is nothing to revert to and nothing was moved; ${kept}"`,
    '  if ! verify_release "$RELEASES/$prev" "$MANIFESTS/$prev.sha256sums" "$MANIFESTS/$prev.links"; then',
    '    changed=$(first_differing "$RELEASES/$prev" "$MANIFESTS/$prev.sha256sums")',
    `    block "$1; current stays on $ID: the release live before it, $prev, does not match its manifest\${changed:+ ($changed)}, so it was not switched back to and nothing was moved; ${kept}"`,
    "  fi",
    `  [ -f "$B/killswitch" ] || [ -f "$B/killswitch.absent" ] || block "$1; current stays on $ID: the kill-switch file as it was before this deploy was not recorded, so nothing was moved; ${kept}"`,
    '  ln -sfn "releases/$prev" "$R/.current.tmp-$$"',
    '  mv -T "$R/.current.tmp-$$" "$CURRENT"',
    // Right after current: the release back live runs with the kill-switch it ran with.
    `  F="$SHARED/"${q(a.killSwitch.file)}`,
    '  if [ -f "$B/killswitch" ]; then cp -p "$B/killswitch" "$F.tmp-$$" && mv "$F.tmp-$$" "$F"; else rm -f "$F"; fi',
    // The log names the release now live, as every entry does, and the one it replaced.
    `  why=$(printf '%s' "$1" | tr -d '\\000-\\037' | sed 's/\\\\/\\\\\\\\/g; s/"/\\\\"/g')`,
    '  pe=$( [ -f "$REVISIONS" ] && grep -F "\\"releaseId\\":\\"$prev\\"" "$REVISIONS" | tail -n 1 || true)',
    '  pc=$(printf \'%s\\n\' "$pe" | sed -n \'s/.*"commit":"\\([0-9a-f]*\\)".*/\\1/p\')',
    '  ps=$(printf \'%s\\n\' "$pe" | sed -n \'s/.*"sha256":"\\([0-9a-f]*\\)".*/\\1/p\')',
    `  ${CHAIN_HASH}`,
    `  printf '{"time":"%s","event":"revert","releaseId":"%s","commit":"%s","sha256":"%s","who":%s,"host":%s,"previous":"%s","from":"%s","to":"%s","why":"%s","prevHash":%s}\\n' ` +
      `"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$prev" "$pc" "$ps" ${j(a.who)} ${j(a.host)} "$ID" "$ID" "$prev" "$why" "$ph" >> "$REVISIONS"`,
    '  rm -rf "$R/.deploy/before"',
    ...restart,
    '  echo "reverted_to=$prev"',
    `  ${releaseLockLine(a.lockToken)}`,
    `  block "$1; current was switched back to $prev, verified against its manifest first, and the kill-switch file restored as it was before this deploy\${restarted}; the revisions log records the revert and the lock was released; release $ID stays staged as evidence; ${fix}"`,
    "}",
  ];
}

/** A revert, as the revisions log records it: when, by whom, from which release to which, why. */
export interface RevertRecord {
  time: string;
  who: string;
  from: string;
  to: string;
  why: string;
}

/** The revert a log line records, or undefined when it is not one. Exported for testing. */
export function parseRevert(line: string | undefined): RevertRecord | undefined {
  if (line === undefined) return undefined;
  try {
    const e = JSON.parse(line) as Record<string, unknown>;
    if (e.event !== "revert") return undefined;
    const [time, who, from, to, why] = [e.time, e.who, e.from, e.to, e.why].map(String);
    return { time, who, from, to, why };
  } catch {
    return undefined;
  }
}
