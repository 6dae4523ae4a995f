import { NOT_SWITCHED, preamble } from "./preamble";
import { q, script } from "./sh";

/** Who holds the deploy lock, as recorded in `.deploy/lock/info`. */
export interface LockInfo {
  /** Identifies one deploy source (user, machine, project directory, stack); re-entrant. */
  token: string;
  holder: string;
  host: string;
  artifact: string;
}

/**
 * Takes the lock atomically: the info is written into a fresh directory that is then renamed
 * onto the lock path, which fails while another deploy's lock (never empty) is there. The same
 * token re-enters, so a re-run after a failure converges. A lock older than `staleSeconds` is
 * broken only when `breakStale` says so.
 */
export function acquireLockScript(
  root: string,
  info: LockInfo,
  breakStale: boolean,
  staleSeconds: number,
): string {
  const lines = [
    `token=${info.token}`,
    `holder=${info.holder}`,
    `host=${info.host}`,
    `artifact=${info.artifact}`,
  ];
  // The shell running the deploy, by pid and start time: a pid alone may have been reused.
  const write = (file: string) =>
    `printf '%s\\n' ${lines.map(q).join(" ")} "since=$(date -u +%Y-%m-%dT%H:%M:%SZ)" "pid=$$" "start=$(started $$)" > ${file}`;
  return script(
    ...preamble(root),
    // Empty for a process that has ended, a zombie not yet reaped included.
    'started() { sed \'s/.*) //\' "/proc/$1/stat" 2>/dev/null | awk \'$1 != "Z" && $1 != "X" { print $20 }\'; }',
    // Lock candidates of deploys that died before renaming theirs; a live one is gone in ms.
    "sweep() { find \"$R/.deploy\" -maxdepth 1 -name '.lock-*' -mmin +1 -exec rm -rf {} + 2>/dev/null || true; }",
    'mkdir -p "$R/.deploy"',
    'T="$R/.deploy/.lock-$$"',
    'rm -rf "$T"; mkdir "$T"',
    write('"$T/info"'),
    'if mv -T "$T" "$LOCK" 2>/dev/null; then echo lock=acquired; sweep; exit 0; fi',
    'rm -rf "$T"',
    'field() { sed -n "s/^$1=//p" "$LOCK/info" 2>/dev/null | head -n 1; }',
    `if grep -qxF ${q(`token=${info.token}`)} "$LOCK/info" 2>/dev/null; then`,
    // A run of this same deploy whose connection was cut may still be running there.
    "  p=$(field pid)",
    '  if [ -n "$p" ] && [ "$p" != $$ ] && [ -n "$(field start)" ] && [ "$(started "$p")" = "$(field start)" ]; then',
    `    block "an earlier run of this deploy (pid $p on the server, since $(field since)) is still running and holds the lock; ${NOT_SWITCHED}; wait for it to end, or end it with kill $p, then run pulumi up again"`,
    "  fi",
    `  ${write('"$LOCK/info.new"')} && mv "$LOCK/info.new" "$LOCK/info"`,
    "  echo lock=reentered; sweep; exit 0",
    "fi",
    'age=$(( $(date +%s) - $(stat -c %Y "$LOCK") ))',
    // Breaking a stale lock is a choice made in config, so the script holds the branch or not.
    ...(breakStale
      ? [
          `if [ "$age" -ge ${staleSeconds} ]; then`,
          '  echo "lock_broken=$(field holder)@$(field host) since $(field since)"',
          '  rm -rf "$LOCK"; mkdir "$T"',
          `  ${write('"$T/info"')}`,
          '  mv -T "$T" "$LOCK" && echo lock=acquired-after-break && sweep && exit 0',
          "fi",
        ]
      : []),
    'stale=""; [ "$age" -ge ' +
      staleSeconds +
      ' ] && stale=" (stale: older than ' +
      staleSeconds +
      's)"',
    'block "the deploy lock $LOCK is held by $(field holder) on $(field host) since $(field since) for artifact $(field artifact), ${age}s ago$stale; ' +
      `${NOT_SWITCHED}; wait for that deploy to finish, or, if it died, pulumi config set breakStaleLock true and run again"`,
  );
}

/**
 * Releases the lock if this deploy holds it; never another deploy's. The release id is part of
 * the script so that each deploy's release is a changed resource that runs again.
 */
export function releaseLockScript(root: string, token: string, releaseId: string): string {
  return script(
    ...preamble(root),
    `if grep -qxF ${q(`token=${token}`)} "$LOCK/info" 2>/dev/null; then rm -rf "$LOCK"; echo lock=released; else echo lock=not-held; fi`,
    `echo release=${q(releaseId)}`,
  );
}
