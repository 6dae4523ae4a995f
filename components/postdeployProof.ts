import * as pulumi from "@pulumi/pulumi";
import { ProofArgs, proofScript } from "./proofScripts";
import { keyValues } from "./sh";
import { HostTransaction } from "./transaction";

export interface PostdeployProofArgs extends ProofArgs {
  tx: HostTransaction;
}

/** What the proof established, as stack outputs. */
export interface ProofResult {
  passed: boolean;
  currentVerified: boolean;
  killSwitchReadBack: string | undefined;
  restarted: string;
  probes: { name: string; exit: number }[];
  invariants: { name: string; same: boolean }[];
}

/** Exported for testing: reads the proof script's output. */
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
      exit: Number(kv[`probe_${i}_exit`] ?? -1),
    })),
    invariants: args.invariants.map((v, i) => ({
      name: v.name,
      same: kv[`invariant_${i}_same`] === "yes",
    })),
  };
}

/**
 * Gate G6 on one target, the step after the switch: current is the new release and matches
 * its manifest, the kill-switch reads back as declared, probes hold, invariants are unchanged.
 * A failure fails the update, with the lock kept so that no other deploy starts on top of it.
 */
export class PostdeployProof extends pulumi.ComponentResource {
  public readonly result: pulumi.Output<ProofResult>;

  constructor(name: string, args: PostdeployProofArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ssot-deploy:proof:PostdeployProof", name, {}, opts);
    const { tx, ...script } = args;
    const out = tx.add("proof", proofScript(script));
    this.result = out.apply((o) => parseProof(o, args));
    this.registerOutputs({ result: this.result });
  }
}
