import * as pulumi from "@pulumi/pulumi";
import { BuiltArtifact } from "./artifactBuild";
import { Backup } from "./backup";
import { Endpoint } from "./commands";
import { DeployConfig } from "./deployConfig";
import { DeployLock } from "./deployLock";
import { KillSwitch } from "./killSwitchState";
import { PostdeployProof, ProofResult } from "./postdeployProof";
import { Promote } from "./promote";
import { Release } from "./release";
import { LockInfo } from "./releaseScripts";

export interface HostDeploymentArgs {
  endpoint: Endpoint;
  deploy: DeployConfig;
  artifact: BuiltArtifact;
  manifest: string;
  links: string;
  lock: LockInfo;
  /** The artifact's extra excludes, which verification ignores on the server. */
  exclude: readonly string[];
  /** Whether the survey found the release staged here already (then nothing is uploaded). */
  alreadyStaged: boolean;
  /** Each invariant's output before the deploy, as the survey read it. */
  invariantsBefore: string[];
  /** Resources that must finish first: the previous host, in a serial rollout. */
  after?: pulumi.Resource[];
}

/** What one host's deploy leaves, for the stack outputs. */
export interface HostSummary {
  releaseId: string;
  promoted: string;
  previous: string;
  backup: string;
  backupSha256: string | undefined;
  killSwitch: { declared: boolean; readBack: boolean | undefined };
  restarted: string;
  proof: ProofResult;
  pruned: string[];
}

/**
 * One host's deploy, in the order that never leaves it half-switched: lock, upload and stage
 * side by side, the kill-switch as declared, a backup of the live tree, the atomic switch, the
 * post-deploy proof, then the lock back.
 */
export class HostDeployment extends pulumi.ComponentResource {
  public readonly summary: pulumi.Output<HostSummary>;
  /** Finishes last: a serial rollout starts the next host after it. */
  public readonly done: pulumi.Resource;

  constructor(name: string, args: HostDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ssot-deploy:host:HostDeployment", name, {}, opts);
    const d = args.deploy;
    const root = d.deployRoot;
    const a = args.artifact;
    const token = args.lock.token;
    const child = { parent: this };
    const lock = new DeployLock(
      `${name}-lock`,
      {
        endpoint: args.endpoint,
        root,
        info: args.lock,
        breakStale: d.breakStaleLock,
        staleSeconds: d.staleLockSeconds,
        after: args.after,
      },
      child,
    );
    const release = new Release(
      `${name}-release`,
      {
        endpoint: args.endpoint,
        root,
        artifact: a,
        manifest: args.manifest,
        links: args.links,
        sharedFiles: d.sharedFiles,
        lockToken: token,
        alreadyStaged: args.alreadyStaged,
        exclude: args.exclude,
        after: [lock.acquire],
      },
      child,
    );
    const killSwitch = new KillSwitch(
      `${name}-killswitch`,
      { endpoint: args.endpoint, root, spec: d.killSwitch, after: [release.stage] },
      child,
    );
    const backup = new Backup(
      `${name}-backup`,
      {
        endpoint: args.endpoint,
        root,
        releaseId: a.releaseId,
        keep: d.keepBackups,
        lockToken: token,
        after: [killSwitch.write],
      },
      child,
    );
    const promote = new Promote(
      `${name}-promote`,
      {
        endpoint: args.endpoint,
        root,
        releaseId: a.releaseId,
        commit: a.commit,
        sha256: a.sha256,
        who: args.lock.holder,
        host: args.lock.host,
        keepReleases: d.keepReleases,
        lockToken: token,
        exclude: args.exclude,
        after: [backup.archive],
      },
      child,
    );
    const proof = new PostdeployProof(
      `${name}-proof`,
      {
        endpoint: args.endpoint,
        root,
        releaseId: a.releaseId,
        killSwitch: d.killSwitch,
        probes: d.proof,
        invariants: d.invariants.map((v, i) => ({ ...v, before: args.invariantsBefore[i] ?? "" })),
        restartCommand: d.restartCommand,
        exclude: args.exclude,
        after: [promote.switch, killSwitch.write],
      },
      child,
    );
    this.done = lock.releaseAfter(`${name}-lock`, a.releaseId, [proof.check]);
    this.summary = pulumi
      .all([
        promote.result,
        promote.previous,
        promote.pruned,
        backup.path,
        backup.sha256,
        killSwitch.readBack,
        proof.result,
      ])
      .apply(([promoted, previous, pruned, backupPath, backupSha256, readBack, p]) => ({
        releaseId: a.releaseId,
        promoted,
        previous,
        backup: backupPath,
        backupSha256,
        killSwitch: { declared: d.killSwitch.value, readBack },
        restarted: p.restarted,
        proof: p,
        pruned,
      }));
    this.registerOutputs({ summary: this.summary });
  }
}
