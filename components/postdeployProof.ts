import * as pulumi from "@pulumi/pulumi";
import { parseProof, ProofArgs, ProofResult } from "../remote/proof";
import { HostTransaction } from "../deploy/hostTransaction";

export interface PostdeployProofArgs extends Pick<ProofArgs, "probes" | "invariants"> {
  /** The host's transaction, whose staged-proof and proof steps this reads. */
  tx: HostTransaction;
}

/**
 * Gate G6 on one target, in two steps of the transaction (their scripts from `hostSteps`). What
 * can be checked before the switch is: the "staged" probes run in the staged release, so a
 * failure leaves current where it was. After the switch: current is the new release and
 * matches its manifest, the kill-switch reads back as declared, the restart and the "live"
 * probes hold (each within its timeout), and measured invariants are unchanged. A failure
 * there fails the update. A failed live probe or invariant first reverts to the verified
 * release live before and gives the lock back, unless onLiveFailure is "keep" or the revert
 * cannot be done; otherwise the lock is kept, so that no other deploy starts on top of it.
 */
export class PostdeployProof extends pulumi.ComponentResource {
  public readonly result: pulumi.Output<ProofResult>;

  constructor(name: string, args: PostdeployProofArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ssot-deploy:proof:PostdeployProof", name, {}, opts);
    const { tx } = args;
    this.result = pulumi
      .all([tx.part("staged-proof"), tx.part("proof")])
      .apply(([s, a]) => parseProof(`${s}\n${a}`, args));
    this.registerOutputs({ result: this.result });
  }
}
