import * as pulumi from "@pulumi/pulumi";
import { Endpoint, shellCommand } from "./commands";
import { acquireLockScript, LockInfo, releaseLockScript } from "./releaseScripts";

export interface DeployLockArgs {
  endpoint: Endpoint;
  /** The layout's root on the target. */
  root: string;
  /** Who takes the lock; the token makes it re-entrant for the same deploy source. */
  info: LockInfo;
  /** Break a lock older than staleSeconds; default false. */
  breakStale: boolean;
  staleSeconds: number;
  /** Resources that must finish first (the previous host, in a serial rollout). */
  after?: pulumi.Resource[];
}

/**
 * The deploy lock on one target: taken first (an atomic rename), held by every later step,
 * and given back by `releaseAfter` once the proof has run. A deploy that fails keeps it, and
 * the same deploy re-enters it on the next run.
 */
export class DeployLock extends pulumi.ComponentResource {
  public readonly acquire: pulumi.Resource;
  public readonly state: pulumi.Output<string>;
  private readonly args: DeployLockArgs;

  constructor(name: string, args: DeployLockArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ssot-deploy:lock:DeployLock", name, {}, opts);
    if (args.info.token === "")
      throw new pulumi.ResourceError("info.token must not be empty", this);
    this.args = args;
    const cmd = shellCommand(
      `${name}-acquire`,
      args.endpoint,
      acquireLockScript(args.root, args.info, args.breakStale, args.staleSeconds),
      { parent: this, dependsOn: args.after },
    );
    this.acquire = cmd;
    this.state = cmd.stdout.apply((o) => /^lock=(.*)$/m.exec(o)?.[1] ?? "unknown");
    this.registerOutputs({ state: this.state });
  }

  /** Gives the lock back after `after` have all succeeded, closing the deploy of `releaseId`. */
  releaseAfter(name: string, releaseId: string, after: pulumi.Resource[]): pulumi.Resource {
    return shellCommand(
      `${name}-release`,
      this.args.endpoint,
      releaseLockScript(this.args.root, this.args.info.token, releaseId),
      {
        parent: this,
        dependsOn: after,
      },
    );
  }
}
