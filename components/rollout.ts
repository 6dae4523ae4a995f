import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../config/stack";
import { trustedKeysFor } from "../config/deploy";
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
 * One HostDeployment per surveyed host. With `rollout: serial` each host starts (its upload
 * included) after the previous host's deploy, so a failed proof stops the rest; with
 * `parallel` all go at once. Returns every host's summary, by host name.
 */
export function deployHosts(
  hosts: readonly SurveyedHost[],
  args: RolloutArgs,
): pulumi.Output<Record<string, HostSummary>> {
  const { config, artifact } = args;
  // A kept release brings no manifest here: it is staged already, and verified against its own.
  const manifest = artifact.kept ? undefined : fs.readFileSync(artifact.manifestPath, "utf8");
  const links = artifact.kept ? undefined : fs.readFileSync(artifact.linksPath, "utf8");
  const entries = artifact.kept ? undefined : fs.readFileSync(artifact.entriesPath, "utf8");
  const lock = { ...args.deployer, artifact: artifact.sha256 };
  const summaries: Record<string, pulumi.Output<HostSummary>> = {};
  let previous: pulumi.Resource[] = [];
  for (const h of hosts) {
    const d = new HostDeployment(h.name, {
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
      after: config.deploy.rollout === "serial" ? previous : [],
    });
    summaries[h.name] = d.summary;
    previous = [d.done];
  }
  return pulumi.all(summaries);
}
