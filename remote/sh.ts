/** Quotes one value for POSIX sh: every interpolation into a remote script goes through here. */
export function q(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Exit status with which a script refuses: the gap is on its `BLOCKED:` line. */
export const BLOCKED_EXIT = 3;

/** A sh function that prints `BLOCKED: <gap>` and exits with BLOCKED_EXIT. */
export const BLOCK_FN = `block() { printf 'BLOCKED: %s\\n' "$*"; exit ${BLOCKED_EXIT}; }`;

/** Joins script lines under `set -eu` and `umask 022`. */
export function script(...lines: string[]): string {
  return ["set -eu", "umask 022", BLOCK_FN, ...lines, ""].join("\n");
}

/** The gap a refused script printed, if it refused. */
export function blockedLine(output: string): string | undefined {
  const line = output.split("\n").find((l) => l.startsWith("BLOCKED: "));
  return line?.slice("BLOCKED: ".length);
}

/** Reads the `key=value` lines a script prints. */
export function keyValues(output: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of output.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0 && /^[a-z][a-z0-9_]*$/.test(line.slice(0, eq)))
      out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** Seconds between the TERM a command past its timeout gets and the KILL that follows it. */
export const KILL_AFTER_SECONDS = 10;

/**
 * sh functions for a command that must not hang. `bounded DIR SECONDS COMMAND` runs COMMAND
 * with `sh -c` in DIR, its output (both streams) in $out and its status in $code. `timeout`
 * leads a process group of its own and, past SECONDS, signals all of it: TERM, then KILL
 * KILL_AFTER_SECONDS later, so neither a child that ignores TERM nor a grandchild survives.
 * `timed_out` is then true: $code is 124 (ended at TERM) or 137 (killed).
 */
export const BOUNDED_FN = [
  "bounded() {",
  "  set +e",
  `  out=$(cd "$1/" && timeout --kill-after=${KILL_AFTER_SECONDS} "$2" sh -c "$3" 2>&1)`,
  "  code=$?",
  "  set -e",
  "}",
  'timed_out() { [ "$code" -eq 124 ] || [ "$code" -eq 137 ]; }',
];

/** Runs `command` in `dir` unbounded, its output (both streams) in $out and its status in $code. */
export function inDirLines(dir: string, command: string): string[] {
  return ["set +e", `out=$(cd "${dir}/" && sh -c ${q(command)} 2>&1)`, "code=$?", "set -e"];
}
