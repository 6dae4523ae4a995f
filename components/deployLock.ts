import * as pulumi from "@pulumi/pulumi";
import { acquireLockScript, LockInfo, releaseLockScript } from "../remote/lock";
import { HostTransaction } from "../deploy/hostTransaction";

export interface DeployLockArgs {
  /** The host's deploy transaction: the lock is its first step, and `release()` its last. */
  tx: HostTransaction;
  /** The layout's root on the target. */
  root: string;
  /** Who takes the lock; the token makes it re-entrant for the same deploy source. */
  info: LockInfo;
  /** Break a lock older than staleSeconds; default false. */
  breakStale: boolean;
  /** Age, in seconds, after which a held lock is reported as stale. */
  staleSeconds: number;
}

/**
 * The deploy lock on one target: taken first (an atomic rename), required by every later
 * step, and given back by the step `release()` adds once the proof has run. A deploy that
 * fails keeps it, so that nothing starts on top of a failed deploy, and the same deploy
 * source re-enters it on the next run.
 */
export class DeployLock extends pulumi.ComponentResource {
  private readonly args: DeployLockArgs;

  constructor(name: string, args: DeployLockArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ssot-deploy:lock:DeployLock", name, {}, opts);
    if (args.info.token === "")
      throw new pulumi.ResourceError("info.token must not be empty", this);
    this.args = args;
    args.tx.add(
      "lock",
      acquireLockScript(args.root, args.info, args.breakStale, args.staleSeconds),
    );
    this.registerOutputs({});
  }

  /** The script that gives the lock back (only if this deploy holds it). */
  releaseScript(releaseId: string): string {
    return releaseLockScript(this.args.root, this.args.info.token, releaseId);
  }

  /** Adds the step that gives the lock back; call it after every step the lock guards. */
  release(releaseId: string): pulumi.Output<string> {
    const out = this.args.tx.add("unlock", this.releaseScript(releaseId));
    return out.apply((o) => /^lock=(.*)$/m.exec(o)?.[1] ?? "unknown");
  }
}
