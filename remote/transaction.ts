import { layout, preamble, requireLock } from "./preamble";
import { BLOCKED_EXIT, q, script } from "./sh";

/** One named part of a host's deploy: a whole script of its own. */
export interface Step {
  name: string;
  script: string;
  /** Run when this step refuses (exits 3), before the transaction ends with that status. */
  onRefusal?: string;
}

const MARK = "step=";

/**
 * Joins steps into one script, each in its own subshell so that its `exit 0` ends only that
 * step, while a refusal (exit 3) or any failure ends the whole run there, with that status.
 * Each step's output starts with a `step=<name>` line. A subshell is never run as the left
 * side of `||`, where sh would ignore the `set -e` inside it.
 */
export function transactionScript(steps: readonly Step[]): string {
  steps.forEach((s, i) => checkName(s.name, steps.slice(0, i)));
  return script(
    ...steps.flatMap((s) => [
      `echo ${MARK}${s.name}`,
      "set +e",
      "(",
      s.script.trimEnd(),
      ")",
      "st=$?",
      "set -e",
      s.onRefusal === undefined
        ? '[ "$st" -eq 0 ] || exit "$st"'
        : `if [ "$st" -ne 0 ]; then [ "$st" -ne ${BLOCKED_EXIT} ] || (\n${s.onRefusal.trimEnd()}\n) || true; exit "$st"; fi`,
    ]),
  );
}

/** Refuses a step name that is not [a-z][a-z0-9-]* or that `earlier` already has. */
export function checkName(name: string, earlier: readonly Pick<Step, "name">[]): void {
  if (!/^[a-z][a-z0-9-]*$/.test(name))
    throw new Error(`step name ${JSON.stringify(name)} is not [a-z][a-z0-9-]*`);
  if (earlier.some((s) => s.name === name)) throw new Error(`step ${name} appears twice`);
}

/** Each step's part of a transaction's output, by step name; steps that never ran are absent. */
export function splitSteps(stdout: string): Record<string, string> {
  const out: Record<string, string[]> = {};
  let current: string[] | undefined;
  for (const line of stdout.split("\n")) {
    if (line.startsWith(MARK)) out[line.slice(MARK.length)] = current = [];
    else current?.push(line);
  }
  return Object.fromEntries(
    Object.entries(out).map(([k, v]) => [k, v.join("\n").replace(/\n$/, "")]),
  );
}

/**
 * What a refusal inside the transaction left, read from the server after it: where current
 * points and what the kill-switch file says, so that no change goes unreported.
 */
export function refusalStateScript(root: string, killSwitchFile: string): string {
  return [
    ...preamble(root),
    `F="$SHARED/"${q(killSwitchFile)}`,
    'ks=$(cat "$F" 2>/dev/null | head -c 200 | tr "\\n" " " | sed "s/ *$//" || true)',
    'echo "after the refusal: current -> $(readlink "$CURRENT" 2>/dev/null || echo nothing); $F reads ${ks:-nothing}"',
  ].join("\n");
}

/** Where a host's prepare phase leaves its mark: the release, the mark's nonce, current's target. */
function preparedFile(root: string): string {
  return `${layout(root).deploy}/prepared`;
}

/**
 * The prepare phase's last step, under the lock: marks the host as prepared for `releaseId`
 * against the release live now, with a fresh nonce that the switch phase is given (through this
 * step's output), so that only this very preparation can spare the switch a step.
 */
export function markPreparedScript(root: string, releaseId: string, lockToken: string): string {
  return script(
    ...preamble(root),
    requireLock(lockToken),
    `M=${q(preparedFile(root))}`,
    "n=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \\n')",
    `printf '%s %s %s\\n' ${q(releaseId)} "$n" "$(readlink "$CURRENT" 2>/dev/null || echo none)" > "$M.tmp"`,
    'mv "$M.tmp" "$M"',
    'echo "prepared=$n"',
  );
}

/** The nonce a prepare phase's output names; undefined when it has none. */
export function preparedNonce(prepareStdout: string): string | undefined {
  return /^prepared=([0-9a-f]{16})$/m.exec(splitSteps(prepareStdout).prepared ?? "")?.[1];
}

/** The first line of a step the switch phase spared: the prepare phase did it, as marked. */
export const REUSED = "prepared=reused";

/**
 * Put before a step of the switch phase that the prepare phase did already (backup, the
 * before-switch commands, the staged probes): ends the step as done when the host still holds
 * the mark `nonce` names and `current` has not moved since, so nothing ran in between that the
 * step would see differently. Otherwise the step runs in full. The switch phase holds the lock
 * again by then.
 */
export function preparedGuard(root: string, releaseId: string, nonce: string | undefined): string {
  if (nonce === undefined) return "";
  const l = layout(root);
  return [
    `if [ "$(cat ${q(preparedFile(root))} 2>/dev/null || true)" = ${q(`${releaseId} ${nonce} `)}"$(readlink ${q(l.current)} 2>/dev/null || echo none)" ]; then`,
    `  echo ${REUSED}; exit 0`,
    "fi",
  ].join("\n");
}
