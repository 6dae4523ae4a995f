import { Invariant, Probe, KillSwitchSpec } from "../config/deploy";
import { killSwitchWriteLines, renderKillSwitch } from "./killSwitch";
import { NOT_SWITCHED, preamble } from "./preamble";
import { LiveFailureArgs, liveFailureLines } from "./promote";
import { BOUNDED_FN, inDirLines, keyValues, q, script } from "./sh";

export interface ProofArgs {
  /** The layout's root on the target. */
  root: string;
  /** The release being deployed. */
  releaseId: string;
  /** The kill-switch as declared, which the proof reads back. */
  killSwitch: KillSwitchSpec;
  /** The probes; each runs before or after the switch as its `when` says. */
  probes: readonly Probe[];
  /**
   * Each invariant with the output the survey read before the deploy; `before` is undefined
   * when nothing was live to run it in, and the invariant is then not measured.
   */
  invariants: readonly (Invariant & { before?: string })[];
  /** Run in the release after the switch, before the live probes; nothing is restarted when unset. */
  restartCommand?: string;
  /** The artifact's extra excludes, which verification ignores on the server. */
  exclude?: readonly string[];
  /** What a live probe or invariant that fails leads to, and what a revert needs. */
  onFailure: Omit<LiveFailureArgs, "killSwitch" | "restartCommand">;
}

/**
 * A probe's checks, under its timeout; `fail` turns a gap (sh text, in double quotes) into the
 * line that refuses with it, `late` a timeout's gap (the default: as `fail`).
 */
function probeLines(
  p: Probe,
  i: number,
  dir: string,
  where: string,
  fail: (gap: string) => string,
  late = fail,
): string[] {
  const last = 'last=$(printf "%s" "$out" | tail -n 1 | cut -c1-200)';
  return [
    `name=${q(p.name)}`,
    `bounded "${dir}" ${p.timeoutSeconds} ${q(p.command)}`,
    `echo "probe_${i}_exit=$code"`,
    last,
    `if timed_out; then ${late(`probe $name did not finish within ${p.timeoutSeconds}s ${where} and was killed with its process group (timeoutSeconds)\${last:+ (last line: $last)}`)}; fi`,
    `[ "$code" -eq ${p.expectExit} ] || ${fail(`probe $name exited $code ${where}, expected ${p.expectExit}\${last:+ (last line: $last)}`)}`,
    ...(p.expectOutput === undefined
      ? []
      : [
          `printf '%s\\n' "$out" | grep -Eq -- ${q(p.expectOutput)} || ${fail(`probe $name ${where}: output does not match "${q(p.expectOutput)}"`)}`,
        ]),
  ];
}

/**
 * The part of G6 that can run before the switch: each "staged" probe, inside the staged
 * release, with the kill-switch already as declared when it is OFF; then, when a probe ran in
 * it, the release is verified against its manifest again, so that the switch only ever takes a
 * release verified after the last thing that ran in it. A failure refuses with current where
 * it was; the transaction then gives the lock back.
 */
export function stagedProofScript(a: ProofArgs): string {
  const after = `${NOT_SWITCHED}; fix the release in the SSOT repo, commit, then run pulumi up again`;
  return script(
    ...preamble(a.root, a.exclude),
    ...BOUNDED_FN,
    `ID=${q(a.releaseId)}`,
    '[ -d "$RELEASES/$ID" ] || block "release $ID is not staged; ' + NOT_SWITCHED + '"',
    ...a.probes.flatMap((p, i) =>
      p.when === "staged"
        ? probeLines(
            p,
            i,
            "$RELEASES/$ID",
            "in the staged release",
            (gap) => `block "${gap}; ${after}"`,
            (gap) =>
              `block "${gap}; ${NOT_SWITCHED}; if the probe needs longer, raise its timeout: ` +
              `pulumi config set --path 'proof[${i}].timeoutSeconds' ${Math.min(86400, p.timeoutSeconds * 2)} (seconds, up to 86400), ` +
              `then run pulumi up again; otherwise fix the release in the SSOT repo, commit, then run pulumi up again"`,
          )
        : [],
    ),
    ...(a.probes.some((p) => p.when === "staged")
      ? [
          'if ! verify_release "$RELEASES/$ID" "$MANIFESTS/$ID.sha256sums" "$MANIFESTS/$ID.links"; then',
          '  changed=$(first_differing "$RELEASES/$ID" "$MANIFESTS/$ID.sha256sums")',
          `  block "the staged probes changed the release's own files\${changed:+ ($changed)} or added files no exclude names; ${NOT_SWITCHED}; a probe must only read the release, or write under a path exclude names"`,
          "fi",
        ]
      : []),
    "echo staged_proof=passed",
  );
}

/**
 * G6 after the switch, what only the live release can show: current points at the new release,
 * the one verified against its manifest under this lock just before the switch, after the last
 * thing that ran in it (the stage step, beforeSwitch and the staged probes each verify what
 * they touched), so it is not hashed a second time here; the kill-switch reads back as declared (ON is written only now); the
 * restart (if any) succeeds; each "live" probe holds within its timeout; each measured
 * invariant prints what it printed before. The first failure refuses. A failed live probe or
 * invariant says the new release is bad: `live_failed` reverts to the release live before, or
 * keeps it, as onLiveFailure says (see `liveFailureLines`); any other failure keeps the lock.
 */
export function proofScript(a: ProofArgs): string {
  const after = "current was switched; the lock is kept until a deploy proves its release";
  const ks = a.killSwitch;
  const killSwitch = ks.value
    ? killSwitchWriteLines(ks, after)
    : [
        `F="$SHARED/"${q(ks.file)}`,
        '[ -f "$F" ] || block "the kill-switch file $F is missing; ' + after + '"',
        'echo "killswitch_b64=$(base64 -w 0 < "$F")"',
        `[ "$(cat "$F")" = ${q(renderKillSwitch(ks).trimEnd())} ] || block "the kill-switch file $F does not read back as declared; ${after}"`,
      ];
  // An invariant is bounded like a probe: past its timeout it counts as failed.
  const invariants = a.invariants.flatMap((v, i) =>
    v.before === undefined
      ? [`echo invariant_${i}=unmeasured`]
      : [
          `name=${q(v.name)}`,
          `before=${q(v.before)}`,
          `bounded "$CURRENT" ${v.timeoutSeconds} ${q(v.command)}`,
          `echo "invariant_${i}=$([ "$out" = "$before" ] && echo same || echo changed)"`,
          `if timed_out; then live_failed "invariant $name did not finish within ${v.timeoutSeconds}s and was killed with its process group (timeoutSeconds)"; fi`,
          `[ "$out" = "$before" ] || live_failed "invariant $name changed: it printed \\"$before\\" before the deploy and \\"$out\\" after"`,
        ],
  );
  const restart =
    a.restartCommand === undefined
      ? ["echo restarted=none"]
      : [
          ...inDirLines("$CURRENT", a.restartCommand),
          `[ "$code" -eq 0 ] || block "restartCommand exited $code; ${after}"`,
          "echo restarted=yes",
        ];
  return script(
    ...preamble(a.root, a.exclude),
    ...BOUNDED_FN,
    ...liveFailureLines({ ...a.onFailure, killSwitch: ks, restartCommand: a.restartCommand }),
    `ID=${q(a.releaseId)}`,
    'cur=$(readlink "$CURRENT" 2>/dev/null || true)',
    `[ "$cur" = "releases/$ID" ] || block "current points at \${cur:-nothing}, not releases/$ID; ${after}"`,
    "echo current=verified",
    ...killSwitch,
    ...restart,
    ...a.probes.flatMap((p, i) =>
      p.when === "live"
        ? probeLines(p, i, "$CURRENT", "in the live release", (gap) => `live_failed "${gap}"`)
        : [],
    ),
    ...invariants,
    'echo "$ID" >> "$PROVED"',
    // Proved: nothing is reverted to any more, so what a revert would put back goes.
    'rm -rf "$R/.deploy/before"',
    "echo proof=passed",
  );
}

/** How an invariant came out: as before, moved, or not measured (nothing was live before). */
export type InvariantOutcome = "same" | "changed" | "unmeasured";

/** What the proof established, as stack outputs. */
export interface ProofResult {
  passed: boolean;
  currentVerified: boolean;
  killSwitchReadBack: string | undefined;
  restarted: string;
  /** Each probe's exit status, and whether it ran in the staged release or the live one. */
  probes: { name: string; when: "staged" | "live"; exit: number }[];
  invariants: { name: string; outcome: InvariantOutcome }[];
}

/** Exported for testing: reads the output of the staged probes and of the proof. */
export function parseProof(
  stdout: string,
  args: Pick<ProofArgs, "probes" | "invariants">,
): ProofResult {
  const kv = keyValues(stdout);
  return {
    passed: kv.proof === "passed",
    currentVerified: kv.current === "verified",
    killSwitchReadBack:
      kv.killswitch_b64 === undefined
        ? undefined
        : Buffer.from(kv.killswitch_b64, "base64").toString("utf8"),
    restarted: kv.restarted ?? "unknown",
    probes: args.probes.map((p, i) => ({
      name: p.name,
      when: p.when,
      exit: Number(kv[`probe_${i}_exit`] ?? -1),
    })),
    invariants: args.invariants.map((v, i) => ({
      name: v.name,
      outcome: (kv[`invariant_${i}`] as InvariantOutcome | undefined) ?? "changed",
    })),
  };
}
