import { KillSwitchSpec, renderKillSwitch } from "./killSwitch";
import { preamble } from "./layout";
import { q, script } from "./sh";

/** A check run inside the live release after the switch. */
export interface Probe {
  name: string;
  command: string;
  /** Exit status the command must end with; default 0. */
  expectExit: number;
  /** Extended regular expression (grep -E) the output must match, when set. */
  expectOutput?: string;
}

/** A read-only command whose output must be the same after the deploy as before it. */
export interface Invariant {
  name: string;
  command: string;
}

export interface ProofArgs {
  root: string;
  releaseId: string;
  killSwitch: KillSwitchSpec;
  probes: readonly Probe[];
  /** Each invariant with the output the survey read before the deploy. */
  invariants: readonly (Invariant & { before: string })[];
  /** Run in the release before the probes; nothing is restarted when unset. */
  restartCommand?: string;
  /** The artifact's extra excludes, which verification ignores on the server. */
  exclude?: readonly string[];
}

/** Runs `command` in the live release, its output (both streams) in $out and status in $code. */
function inRelease(command: string): string[] {
  return ["set +e", `out=$(cd "$CURRENT/" && sh -c ${q(command)} 2>&1)`, "code=$?", "set -e"];
}

/**
 * Gate G6, on the server: current points at the new release; every file of it matches the
 * manifest; the kill-switch reads back as declared; the restart (if any) succeeds; each probe
 * holds; each invariant prints what it printed before. The first failure refuses.
 */
export function proofScript(a: ProofArgs): string {
  const probes = a.probes.flatMap((p, i) => [
    `name=${q(p.name)}`,
    ...inRelease(p.command),
    `echo "probe_${i}_exit=$code"`,
    `[ "$code" -eq ${p.expectExit} ] || block "probe $name exited $code, expected ${p.expectExit}"`,
    ...(p.expectOutput === undefined
      ? []
      : [
          `printf '%s\\n' "$out" | grep -Eq -- ${q(p.expectOutput)} || block "probe $name: output does not match "${q(p.expectOutput)}`,
        ]),
  ]);
  const invariants = a.invariants.flatMap((v, i) => [
    `name=${q(v.name)}`,
    `before=${q(v.before)}`,
    ...inRelease(v.command),
    `echo "invariant_${i}_same=$([ "$out" = "$before" ] && echo yes || echo no)"`,
    '[ "$out" = "$before" ] || block "invariant $name changed: it printed \\"$before\\" before the deploy and \\"$out\\" after"',
  ]);
  const restart =
    a.restartCommand === undefined
      ? ["echo restarted=none"]
      : [
          ...inRelease(a.restartCommand),
          '[ "$code" -eq 0 ] || block "restartCommand exited $code"',
          "echo restarted=yes",
        ];
  return script(
    ...preamble(a.root, a.exclude),
    `ID=${q(a.releaseId)}`,
    'cur=$(readlink "$CURRENT" 2>/dev/null || true)',
    '[ "$cur" = "releases/$ID" ] || block "current points at ${cur:-nothing}, not releases/$ID"',
    'verify_release "$CURRENT/" "$MANIFESTS/$ID.sha256sums" "$MANIFESTS/$ID.links" || block "files of current do not match the manifest of $ID"',
    "echo current=verified",
    `F="$SHARED/"${q(a.killSwitch.file)}`,
    '[ -f "$F" ] || block "the kill-switch file $F is missing"',
    'echo "killswitch_b64=$(base64 -w 0 < "$F")"',
    `[ "$(cat "$F")" = ${q(renderKillSwitch(a.killSwitch).trimEnd())} ] || block "the kill-switch file $F does not read back as declared"`,
    ...restart,
    ...probes,
    ...invariants,
    'echo "$ID" >> "$PROVED"',
    "echo proof=passed",
  );
}
