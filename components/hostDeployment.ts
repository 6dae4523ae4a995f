import * as pulumi from "@pulumi/pulumi";
import { BuiltArtifact } from "../gates/artifact/build";
import { Backup } from "./backup";
import { Endpoint } from "../deploy/commands";
import { DeployConfig } from "../config/deploy";
import { DeployLock } from "./deployLock";
import { readKillSwitch } from "../remote/killSwitch";
import { KillSwitch } from "./killSwitch";
import { BeforeSwitch } from "./beforeSwitch";
import { PostdeployProof } from "./postdeployProof";
import { HostSummary } from "../deploy/hostSummary";
import { Promote } from "./promote";
import { Release } from "./release";
import { HostTransaction } from "../deploy/hostTransaction";
import { HostStep, hostSteps, HostStepsArgs } from "../deploy/hostSteps";
import { prepareSteps, switchSteps } from "../deploy/fleetSteps";

const HOST_TYPE = "ssot-deploy:host:HostDeployment";

/**
 * What `hostSteps` builds the transaction from (all but the re-upload command, which the
 * Release component makes), and what only the components need.
 */
export interface HostDeploymentArgs extends Omit<
  HostStepsArgs,
  "reupload" | "deploy" | "artifact"
> {
  /** Where the host's commands run: over SSH with its pinned host key, or on this machine. */
  endpoint: Endpoint;
  /** The stack's validated deploy settings. */
  deploy: DeployConfig;
  /** The artifact G4 built and every gate passed. */
  artifact: BuiltArtifact;
  /** What a rollback goes back to once this release is live (see `rollbackTarget`). */
  rollbackTo: string;
  /** Whether the survey found the release here already, staged or live (then nothing is copied). */
  onServer: boolean;
  /** How the server departs from the last deploy of this release; each one makes up run. */
  departures: readonly string[];
  /** Resources that must finish first: the batch before, in a rolling rollout. */
  after?: pulumi.Resource[];
  /**
   * Set when the host switches together with others: the prepare phase of every host of its
   * batch, which its switch phase waits for. Unset, the host deploys in one transaction.
   */
  batch?: Promise<pulumi.Resource[]>;
}

/**
 * One host's deploy, in the order that never leaves it half-switched: the upload (when the
 * release is not staged there yet), then one transaction of the steps `hostSteps` orders: lock,
 * backup of what the SSOT cannot rebuild, stage side by side, the kill-switch as declared, the
 * preparation and the staged probes, the atomic switch, the post-deploy proof, the lock back.
 * Each part is its own component, which reads its step's output; all run in one SSH session,
 * or, when the host switches with others (`batch`), in two: a prepare phase of every step
 * before the switch, and the switch phase once every host of the batch is prepared.
 */
export class HostDeployment extends pulumi.ComponentResource {
  public readonly summary: pulumi.Output<HostSummary>;
  /** Finishes last: a rolling rollout starts the next batch after it. */
  public readonly done: pulumi.Resource;
  /** The prepare phase, when the host switches with others; else the one transaction. */
  public readonly prepared: pulumi.Resource;

  constructor(name: string, args: HostDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super(HOST_TYPE, name, {}, opts);
    const d = args.deploy;
    const a = args.artifact;
    const child = { parent: this };
    const tx = new HostTransaction(args.endpoint);
    const lock = new DeployLock(`${name}-lock`, { tx, info: args.lock }, child);
    const backup = new Backup(`${name}-backup`, { tx, rollbackTo: args.rollbackTo }, child);
    const release = new Release(
      `${name}-release`,
      { tx, root: d.deployRoot, artifact: a, onServer: args.onServer, after: args.after },
      child,
    );
    new KillSwitch(`${name}-killswitch`, { tx, spec: d.killSwitch }, child);
    const prepared = new BeforeSwitch(
      `${name}-beforeswitch`,
      { tx, commands: d.beforeSwitch },
      child,
    );
    const proof = new PostdeployProof(
      `${name}-proof`,
      { tx, probes: d.proof, invariants: d.invariants },
      child,
    );
    const promote = new Promote(
      `${name}-promote`,
      { tx, releaseId: a.releaseId, commit: a.commit },
      child,
    );
    const txOpts = { parent: this, dependsOn: [...(args.after ?? []), ...release.uploads] };
    const steps = (make: (a: HostStepsArgs) => HostStep[]) =>
      release.reupload.apply((reupload) => make({ ...args, reupload }));
    if (args.batch === undefined) {
      this.done = this.prepared = tx.run(
        `${name}-deploy`,
        steps(hostSteps),
        args.departures,
        txOpts,
      );
    } else {
      const phases = tx.runPhased(
        `${name}-deploy`,
        steps(prepareSteps),
        (nonce) => steps((a) => switchSteps(a, nonce)),
        args.departures,
        txOpts,
        args.batch,
      );
      this.prepared = phases.prepared;
      this.done = phases.switched;
    }
    const switched = pulumi.all([
      promote.result,
      promote.previous,
      promote.pruned,
      promote.revision,
    ]);
    const staging = pulumi.all([release.staged, release.signature]);
    this.summary = pulumi
      .all([staging, switched, backup.result, proof.result, lock.state, prepared.result])
      .apply(
        ([
          [staged, signature],
          [promoted, previous, pruned, revision],
          backupResult,
          p,
          lockState,
          before,
        ]) => ({
          releaseId: a.releaseId,
          staged,
          promoted,
          previous,
          backup: backupResult,
          // As the proof read it after the switch: the state the deploy left.
          killSwitch: {
            declared: d.killSwitch.value,
            readBack: readKillSwitch(p.killSwitchReadBack, d.killSwitch),
          },
          restarted: p.restarted,
          beforeSwitch: before,
          proof: p,
          pruned,
          lock: lockState,
          revision,
          signature,
        }),
      );
    this.registerOutputs({ summary: this.summary });
  }
}
