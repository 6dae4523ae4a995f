import { Invariant, Probe, KillSwitchSpec } from "../config/deploy";
import { killSwitchWriteLines, renderKillSwitch } from "./killSwitch";
import { NOT_SWITCHED, preamble } from "./preamble";
import { keyValues, q, script } from "./sh";

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
}

/** Runs `command` in `dir`, its output (both streams) in $out and its status in $code. */
function inDir(dir: string, command: string): string[] {
  return ["set +e", `out=$(cd "${dir}/" && sh -c ${q(command)} 2>&1)`, "code=$?", "set -e"];
}

/** A probe's checks; `after` ends each refusal with what it left and what to do. */
function probeLines(p: Probe, i: number, dir: string, where: string, after: string): string[] {
  const last = 'last=$(printf "%s" "$out" | tail -n 1 | cut -c1-200)';
  return [
    `name=${q(p.name)}`,
    ...inDir(dir, p.command),
    `echo "probe_${i}_exit=$code"`,
    last,
    `[ "$code" -eq ${p.expectExit} ] || block "probe $name exited $code ${where}, expected ${p.expectExit}\${last:+ (last line: $last)}; ${after}"`,
    ...(p.expectOutput === undefined
      ? []
      : [
          `printf '%s\\n' "$out" | grep -Eq -- ${q(p.expectOutput)} || block "probe $name ${where}: output does not match "${q(p.expectOutput)}"; ${after}"`,
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
    `ID=${q(a.releaseId)}`,
    '[ -d "$RELEASES/$ID" ] || block "release $ID is not staged; ' + NOT_SWITCHED + '"',
    ...a.probes.flatMap((p, i) =>
      p.when === "staged" ? probeLines(p, i, "$RELEASES/$ID", "in the staged release", after) : [],
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
 * restart (if any) succeeds; each "live" probe holds; each measured invariant prints what it
 * printed before. The first failure refuses and keeps the lock.
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
  const invariants = a.invariants.flatMap((v, i) =>
    v.before === undefined
      ? [`echo invariant_${i}=unmeasured`]
      : [
          `name=${q(v.name)}`,
          `before=${q(v.before)}`,
          ...inDir("$CURRENT", v.command),
          `echo "invariant_${i}=$([ "$out" = "$before" ] && echo same || echo changed)"`,
          `[ "$out" = "$before" ] || block "invariant $name changed: it printed \\"$before\\" before the deploy and \\"$out\\" after; ${after}"`,
        ],
  );
  const restart =
    a.restartCommand === undefined
      ? ["echo restarted=none"]
      : [
          ...inDir("$CURRENT", a.restartCommand),
          `[ "$code" -eq 0 ] || block "restartCommand exited $code; ${after}"`,
          "echo restarted=yes",
        ];
  return script(
    ...preamble(a.root, a.exclude),
    `ID=${q(a.releaseId)}`,
    'cur=$(readlink "$CURRENT" 2>/dev/null || true)',
    `[ "$cur" = "releases/$ID" ] || block "current points at \${cur:-nothing}, not releases/$ID; ${after}"`,
    "echo current=verified",
    ...killSwitch,
    ...restart,
    ...a.probes.flatMap((p, i) =>
      p.when === "live" ? probeLines(p, i, "$CURRENT", "in the live release", after) : [],
    ),
    ...invariants,
    'echo "$ID" >> "$PROVED"',
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
