import * as pulumi from "@pulumi/pulumi";
import { enterProject } from "./lib/freshBuild";
import { readSigningKey, readStackConfig } from "./config/stack";
import { renderGateTable } from "./gates/gateRun";
import { gatesFor } from "./gates/rollback";
import { ServerSurvey } from "./survey/serverSurvey";
import { Artifact } from "./components/artifact";
import { lockInfoFor } from "./deploy/endpoint";
import { deployHosts } from "./components/rollout";
import { Attestation } from "./components/attestation";
import { attestedHosts, previewRun, reportBlocked, upRun } from "./evidence/runReport";
import { keptEvidenceFor, keptEvidenceOpener, runFacts } from "./evidence/kept";

// The seed's gated deploy as declared state. Every gate (G0 on this machine and, read-only, on
// each server, then G2, G1, G3, G4) runs before any resource is registered, so a blocked gate
// fails preview and up alike with nothing created. Then one deployment per host (G5 to G7),
// and the evidence. Every run, blocked or not, leaves its report.
export = async () => {
  enterProject(pulumi.runtime.getRootDirectory(), __filename);
  const startedOn = new Date().toISOString();
  const config = readStackConfig();
  const stack = pulumi.getStack();
  const mode = pulumi.runtime.isDryRun() ? ("preview" as const) : ("up" as const);
  const signingKey = await readSigningKey(config.attestationKey);
  const deployer = lockInfoFor(stack);
  const reporting = { stack, mode, reportDir: config.source.reportDir, deploy: config.deploy };

  const servers = new ServerSurvey({
    deploy: config.deploy,
    ssh: config.ssh,
    stack,
    lockToken: deployer.token,
    exclude: config.source.exclude,
  });
  // A rollback by `release` trusts the evidence kept with it, signed by this stack's key,
  // instead of testing and building again.
  const open = keptEvidenceOpener(signingKey, { project: pulumi.getProject(), stack });
  const source = await gatesFor(config.source, servers, open, stack, (l) => pulumi.log.info(l))
    .catch((e: unknown) => reportBlocked(e, reporting, servers.hosts))
    .finally(() => servers.close());
  const builtOn = new Date().toISOString();
  await pulumi.log.info(`gates:\n${renderGateTable(source.gates)}`);

  const run = runFacts(pulumi.getProject(), stack, startedOn, deployer);
  const evidence = keptEvidenceFor(source, config.source, run, builtOn, signingKey, mode === "up");
  const artifact = new Artifact("artifact", { build: source.artifact });
  const fleet = deployHosts(servers.hosts, {
    config,
    artifact: source.artifact,
    deployer,
    evidence,
  });
  const summaries = pulumi.all(fleet.each);
  // A preview registers what up registers (the attestation too, its values unknown), so an
  // unchanged stack previews no change and a saved plan holds.
  const { gates, report } =
    mode === "preview"
      ? previewRun(reporting, source, servers.hosts, servers.unchanged(), fleet.batches)
      : upRun(reporting, source, servers.hosts, fleet);
  const attestation = new Attestation("attestation", {
    build: source.artifact,
    source: config.source,
    sourceUri: source.sourceUri,
    tests: source.tests,
    changeSet: source.changeSet,
    deploy: config.deploy,
    run,
    builtOn,
    hosts: attestedHosts(servers.hosts, source.artifact.releaseId),
    summaries,
    batches: fleet.batches,
    gates,
    signingKey,
    reportFile: report,
    kept: source.kept?.text,
    preview: mode === "preview",
  });
  return {
    artifact: artifact.summary,
    gates,
    tests: source.tests,
    changeSet: source.changeSet,
    deploy: summaries,
    result: attestation.result,
    attestation: attestation.bundle,
    report: mode === "preview" ? report : attestation.report,
  };
};
