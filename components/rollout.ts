import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../config/stack";
import { DeployConfig, trustedKeysFor } from "../config/deploy";
import { BuiltArtifact } from "../gates/artifact/build";
import { LockInfo } from "../remote/lock";
import { SurveyedHost } from "../survey/serverSurvey";
import { endpointFor } from "../deploy/endpoint";
import { HostDeployment } from "./hostDeployment";
import { HostSummary } from "../deploy/hostSummary";

export interface RolloutArgs {
  /** The stack's validated config; its secrets stay Outputs inside each connection. */
  config: StackConfig;
  /** The artifact G4 built, with its manifest and symlink list on this machine. */
  artifact: BuiltArtifact;
  /** Who deploys (user, machine, token); the artifact's sha256 is added for the lock. */
  deployer: Omit<LockInfo, "artifact">;
  /** The release's signed evidence, kept beside it where it is uploaded; none when unsigned. */
  evidence?: string;
}

/**
 * What a rollback goes back to once this release is live, in the words the backup's record
 * keeps: the release live before it, or, when it is live already, the one before that (so an
 * unchanged deploy records no change). Exported for testing.
 */
export function rollbackTarget(h: SurveyedHost, releaseId: string): string {
  const s = h.survey;
  if (s.layout === "symlink")
    return s.live !== releaseId
      ? `releases/${s.live}`
      : s.livePrevious
        ? `releases/${s.livePrevious}`
        : "nothing: no release was live before it";
  if (s.layout === "directory") return "the directory live before, adopted into releases/";
  return "nothing: no release was live before it";
}

/**
 * The batches hosts switch in, in order: all of them at once for `all-or-none`, `batchSize` at
 * a time, in the order `hosts` declares them, for `rolling`. Exported for testing.
 */
export function rolloutBatches<T>(
  hosts: readonly T[],
  rollout: Pick<DeployConfig, "rollout" | "batchSize">,
): T[][] {
  const size = rollout.rollout === "rolling" ? rollout.batchSize : hosts.length;
  const batches: T[][] = [];
  for (let i = 0; i < hosts.length; i += Math.max(size, 1)) batches.push(hosts.slice(i, i + size));
  return batches;
}

/**
 * One HostDeployment per surveyed host, batch after batch (see `rolloutBatches`). A batch of
 * several hosts switches together: each host's prepare phase (lock, backup, stage, probes, the
 * lock back) runs in parallel, and no host's switch starts before every prepare of the batch
 * has passed, so a refusal anywhere leaves every host of the batch on the release it had. A
 * batch of one is one transaction. The next batch, its uploads included, starts after this
 * batch's switches; a failure stops the rollout there. Returns each host's summary, by name,
 * and the batches by host name.
 */
export function deployHosts(
  hosts: readonly SurveyedHost[],
  args: RolloutArgs,
): { each: Record<string, pulumi.Output<HostSummary>>; batches: string[][] } {
  const { config, artifact } = args;
  // A kept release brings no manifest here: it is staged already, and verified against its own.
  const manifest = artifact.kept ? undefined : fs.readFileSync(artifact.manifestPath, "utf8");
  const links = artifact.kept ? undefined : fs.readFileSync(artifact.linksPath, "utf8");
  const entries = artifact.kept ? undefined : fs.readFileSync(artifact.entriesPath, "utf8");
  const lock = { ...args.deployer, artifact: artifact.sha256 };
  const summaries: Record<string, pulumi.Output<HostSummary>> = {};
  let previous: pulumi.Resource[] = [];
  const batches = rolloutBatches(hosts, config.deploy);
  for (const batch of batches) {
    let prepared!: (r: pulumi.Resource[]) => void;
    const together = new Promise<pulumi.Resource[]>((r) => (prepared = r));
    const deployments = batch.map(
      (h) =>
        new HostDeployment(h.name, {
          endpoint: endpointFor(h, config),
          deploy: config.deploy,
          artifact,
          manifest,
          links,
          entries,
          evidence: args.evidence,
          lock,
          rollbackTo: rollbackTarget(h, artifact.releaseId),
          onServer: h.onServer,
          exclude: config.source.exclude,
          invariantsBefore: h.survey.invariants,
          departures: h.departures,
          driftReconciled: h.driftReconciled,
          trustedKeys: trustedKeysFor(config.deploy, h.spec),
          after: previous,
          batch: batch.length > 1 ? together : undefined,
        }),
    );
    prepared(deployments.map((d) => d.prepared));
    for (const [i, d] of deployments.entries()) summaries[batch[i].name] = d.summary;
    previous = deployments.map((d) => d.done);
  }
  return { each: summaries, batches: batches.map((b) => b.map((h) => h.name)) };
}
