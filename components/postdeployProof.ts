import * as pulumi from "@pulumi/pulumi";
import {
  parseProof,
  ProofArgs,
  ProofResult,
  proofScript,
  stagedProofScript,
} from "../remote/proof";
import { HostTransaction } from "../deploy/hostTransaction";

export interface PostdeployProofArgs extends ProofArgs {
  /** The host's transaction: the staged probes are added at once, the rest by `afterSwitch()`. */
  tx: HostTransaction;
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
