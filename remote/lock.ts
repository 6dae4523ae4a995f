import { NOT_SWITCHED, NOTHING, preamble } from "./preamble";
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
    // Lock candidates of deploys that died before renaming theirs; a live one is gone in ms.
    "sweep() { find \"$R/.deploy\" -maxdepth 1 -name '.lock-*' -mmin +1 -exec rm -rf {} + 2>/dev/null || true; }",
    'mkdir -p "$R/.deploy"',
    'T="$R/.deploy/.lock-$$"',
    'rm -rf "$T"; mkdir "$T"',
    write('"$T/info"'),
    'if mv -T "$T" "$LOCK" 2>/dev/null; then echo lock=acquired; sweep; exit 0; fi',
    'rm -rf "$T"',
    `if grep -qxF ${q(`token=${info.token}`)} "$LOCK/info" 2>/dev/null; then`,
    // A run of this same deploy whose connection was cut may still be running there.
    "  p=$(lock_field pid)",
    '  if [ "$p" != $$ ] && lock_holder_alive; then',
    // Killing the shell alone would leave the command it waits on running: name its group, and
    // its session, which holds what it started under timeout (a group of its own).
    "    g=$(sed 's/.*) //' \"/proc/$p/stat\" | awk '{ print $3 }'); s=$(sed 's/.*) //' \"/proc/$p/stat\" | awk '{ print $4 }')",
    `    block "an earlier run of this deploy (pid $p on the server, since $(lock_field since)) is still running and holds the lock; ${NOT_SWITCHED}; wait for it to end, or end it and the command it runs with kill -- -$g (ps -s $s lists every process it started), then run pulumi up again"`,
    "  fi",
    `  ${write('"$LOCK/info.new"')} && mv "$LOCK/info.new" "$LOCK/info"`,
    "  echo lock=reentered; sweep; exit 0",
    "fi",
    "age=$(lock_age)",
    // Breaking a stale lock is a choice made in config, so the script holds the branch or not.
    ...(breakStale
      ? [
          `if [ "$age" -ge ${staleSeconds} ]; then`,
          '  echo "lock_broken=$(lock_field holder)@$(lock_field host) since $(lock_field since)"',
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
    'block "the deploy lock $LOCK is held by $(lock_field holder) on $(lock_field host) since $(lock_field since) for artifact $(lock_field artifact), ${age}s ago$stale; ' +
      `${NOT_SWITCHED}; wait for that deploy to finish, or, if it died, pulumi config set breakStaleLock true and run again"`,
  );
}

/**
 * Releases the lock if this deploy holds it; never another deploy's. The release id is part of
 * the script so that each deploy's release is a changed resource that runs again.
 */
export function releaseLockScript(root: string, token: string, releaseId: string): string {
  return script(...preamble(root), releaseLockLine(token), `echo release=${q(releaseId)}`);
}

/** The line that gives the lock back if this deploy (its token) holds it; never another's. */
export function releaseLockLine(token: string): string {
  return `if grep -qxF ${q(`token=${token}`)} "$LOCK/info" 2>/dev/null; then rm -rf "$LOCK"; echo lock=released; else echo lock=not-held; fi`;
}

/**
 * `npm run lock -- release`: gives the lock back only when the deploy that took it has ended on
 * the server (its shell, by pid and start time, is gone), or when `force` says so; it prints
 * the holder either way. Refuses a live holder without `force`, naming it and its pid.
 */
export function breakLockScript(root: string, force: boolean): string {
  return script(
    ...preamble(root),
    '[ -e "$LOCK" ] || { echo lock=none; exit 0; }',
    'echo "lock_holder=$(lock_field holder)"; echo "lock_host=$(lock_field host)"; echo "lock_since=$(lock_field since)"',
    "if lock_holder_alive; then",
    `  ${
      force
        ? 'echo "lock_forced=pid $(lock_field pid)"'
        : `block "the deploy of $(lock_field holder) on $(lock_field host) still runs on the server (pid $(lock_field pid), since $(lock_field since)) and holds $LOCK; ${NOTHING}; wait for it to end, or pass --force to take its lock away, naming it"`
    }`,
    "fi",
    'rm -rf "$LOCK"',
    "echo lock=released",
  );
}
