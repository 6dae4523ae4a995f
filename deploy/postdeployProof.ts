import * as pulumi from "@pulumi/pulumi";
import { ProofArgs, proofScript, stagedProofScript } from "../remote/proof";
import { keyValues } from "../remote/sh";
import { HostTransaction } from "./hostTransaction";

export interface PostdeployProofArgs extends ProofArgs {
  /** The host's transaction: the staged probes are added at once, the rest by `afterSwitch()`. */
  tx: HostTransaction;
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

/**
 * Gate G6 on one target. What can be checked before the switch is: the "staged" probes run in
 * the staged release as soon as this component is created, so a failure leaves current where
 * it was. `afterSwitch()` adds the rest: current is the new release and matches its manifest,
 * the kill-switch reads back as declared, the restart and the "live" probes hold, and measured
 * invariants are unchanged. A failure there fails the update with the lock kept, so that no
 * other deploy starts on top of it.
 */
export class PostdeployProof extends pulumi.ComponentResource {
  public readonly result: pulumi.Output<ProofResult>;
  private readonly args: PostdeployProofArgs;
  private readonly resolveAfter: (o: pulumi.Output<string>) => void;

  constructor(name: string, args: PostdeployProofArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ssot-deploy:proof:PostdeployProof", name, {}, opts);
    this.args = args;
    const { tx, ...script } = args;
    const staged = tx.add("staged-proof", stagedProofScript(script));
    const [after, resolveAfter] = pulumi.deferredOutput<string>();
    this.resolveAfter = resolveAfter;
    this.result = pulumi.all([staged, after]).apply(([s, a]) => parseProof(`${s}\n${a}`, args));
    this.registerOutputs({ result: this.result });
  }

  /** Adds the checks that need the switch; call it right after the promote step. */
  afterSwitch(): void {
    const { tx, ...script } = this.args;
    this.resolveAfter(tx.add("proof", proofScript(script)));
  }
}
