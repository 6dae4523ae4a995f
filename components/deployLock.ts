import * as pulumi from "@pulumi/pulumi";
import { LockInfo } from "../remote/lock";
import { HostTransaction } from "../deploy/hostTransaction";

export interface DeployLockArgs {
  /** The host's deploy transaction, whose first step takes the lock and whose last gives it back. */
  tx: HostTransaction;
  /** Who takes the lock; the token makes it re-entrant for the same deploy source. */
  info: LockInfo;
}

/**
 * The deploy lock on one target: taken first (an atomic rename), required by every later
 * step, and given back by the last step once the proof has run. A deploy that fails keeps it,
 * so that nothing starts on top of a failed deploy, and the same deploy source re-enters it on
 * the next run. The steps' scripts come from `hostSteps`; this reads what the lock became.
 */
export class DeployLock extends pulumi.ComponentResource {
  /** The lock's state after the deploy, as the unlock step printed it ("released", ...). */
  public readonly state: pulumi.Output<string>;

  constructor(name: string, args: DeployLockArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ssot-deploy:lock:DeployLock", name, {}, opts);
    // An empty token would let any deploy re-enter any other's lock.
    if (args.info.token === "")
      throw new pulumi.ResourceError("info.token must not be empty", this);
    this.state = args.tx.part("unlock").apply((o) => /^lock=(.*)$/m.exec(o)?.[1] ?? "unknown");
    this.registerOutputs({});
  }
}
