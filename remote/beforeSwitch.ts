import { BeforeSwitchCommand } from "../config/deploy";
import { NOT_SWITCHED, preamble } from "./preamble";
import { BOUNDED_FN, keyValues, q, script } from "./sh";

/** Lines of output kept from each command, for the report. */
export const KEPT_LINES = 40;

export interface BeforeSwitchArgs {
  /** The layout's root on the target. */
  root: string;
  /** The staged release the commands run in. */
  releaseId: string;
  /** The commands, in order; the first that fails refuses the deploy. */
  commands: readonly BeforeSwitchCommand[];
  /** The artifact's extra excludes, which verification ignores on the server. */
  exclude?: readonly string[];
}

/**
 * Runs each beforeSwitch command inside the staged release, under the lock, before the switch,
 * each under its timeout (`bounded`: its whole process group is killed past it). A release prepared before
 * (a rollback to it) is not prepared again. A command that fails or times out refuses the
 * deploy: the staged release is removed, so that neither retention nor a rollback can take it,
 * and the failure is recorded in .deploy/failed; the upload stays, so a later run stages it
 * afresh. The last lines of each command's output go to the report.
 */
export function beforeSwitchScript(a: BeforeSwitchArgs): string {
  const failed = (name: string, why: string) => [
    `  echo "$ID $(date -u +%Y-%m-%dT%H:%M:%SZ) ${name}" >> "$R/.deploy/failed"`,
    '  rm -rf "$REL" "$MANIFESTS/$ID.sha256sums" "$MANIFESTS/$ID.links" "$MANIFESTS/$ID.intoto.jsonl"',
    `  block "${why}; ${NOT_SWITCHED}; the staged release was removed, so that nothing takes it; fix the cause, then run pulumi up again"`,
  ];
  return script(
    ...preamble(a.root, a.exclude),
    ...BOUNDED_FN,
    `ID=${q(a.releaseId)}`,
    'REL="$RELEASES/$ID"; PREPARED="$R/.deploy/prepared"',
    `[ -d "$REL" ] || block "release $ID is not staged; ${NOT_SWITCHED}"`,
    'if [ -f "$PREPARED" ] && grep -qxF "$ID" "$PREPARED"; then echo before_switch=already-prepared; exit 0; fi',
    ...a.commands.flatMap((c, i) => [
      `name=${q(c.name)}`,
      `bounded "$REL" ${c.timeoutSeconds} ${q(c.command)}`,
      `echo "before_switch_${i}_exit=$code"`,
      `echo "before_switch_${i}_b64=$(printf '%s' "$out" | tail -n ${KEPT_LINES} | base64 -w 0)"`,
      'last=$(printf "%s" "$out" | tail -n 1 | cut -c1-200)',
      "if timed_out; then",
      ...failed(
        "$name",
        `beforeSwitch $name did not finish within ${c.timeoutSeconds}s and was killed (timeoutSeconds)`,
      ),
      'elif [ "$code" -ne 0 ]; then',
      ...failed(
        "$name",
        "beforeSwitch $name exited $code in the staged release${last:+ (last line: $last)}",
      ),
      "fi",
    ]),
    // What the commands write must be under a path the excludes name (.venv/ is built in):
    // a release that no longer matches its manifest would fail its proof after the switch.
    'if ! verify_release "$REL" "$MANIFESTS/$ID.sha256sums" "$MANIFESTS/$ID.links"; then',
    '  changed=$(first_differing "$REL" "$MANIFESTS/$ID.sha256sums")',
    ...failed(
      "beforeSwitch",
      "the beforeSwitch commands changed the release's own files${changed:+ ($changed)} or added files no exclude names; what they write must be under a path exclude names (.venv/ is built in)",
    ),
    "fi",
    'echo "$ID" >> "$PREPARED"',
    "echo before_switch=done",
  );
}

/** What the beforeSwitch step did, for the report and the attestation. */
export interface BeforeSwitchResult {
  /** "now", "already" (a rollback to a release prepared before), or "none" (nothing to run). */
  prepared: "now" | "already" | "none";
  /** Each command that ran: its exit status and the last lines of its output. */
  commands: { name: string; exit: number; output: string }[];
}

/** Exported for testing: reads the step's output. */
export function parseBeforeSwitch(
  stdout: string,
  commands: BeforeSwitchArgs["commands"],
): BeforeSwitchResult {
  const kv = keyValues(stdout);
  if (commands.length === 0) return { prepared: "none", commands: [] };
  if (kv.before_switch === "already-prepared") return { prepared: "already", commands: [] };
  return {
    prepared: "now",
    commands: commands
      .map((c, i) => ({
        name: c.name,
        exit: Number(kv[`before_switch_${i}_exit`] ?? -1),
        output: Buffer.from(kv[`before_switch_${i}_b64`] ?? "", "base64").toString("utf8"),
      }))
      .filter((c) => c.exit !== -1),
  };
}
