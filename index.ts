import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { Artifact } from "./deploy/artifact";
import { Attestation } from "./evidence/attestation";
import { renderGateTable } from "./gates/gateRun";
import { HostDeployment } from "./deploy/hostDeployment";
import { changesHost, reportBlocked, reportPreview, reportStarted } from "./evidence/runReport";
import { ServerPrecheck } from "./survey/serverSurvey";
import { runSourceGates } from "./gates/sequence";
import { readSigningKey, readStackConfig } from "./config/stack";
import { TOOL_VERSION } from "./evidence/statements";
import { deployedGates, endpointFor, lockInfoFor, previewGates } from "./deploy/targets";

// An async program: every gate, on this machine and the read-only survey of each server, is
// awaited before any resource is registered, so a blocked gate fails preview and up alike
// with nothing created. Every run, blocked or not, leaves its report.
export = async () => {
  const startedOn = new Date().toISOString();
  const config = readStackConfig();
  const stack = pulumi.getStack();
  const preview = pulumi.runtime.isDryRun();
  const signingKey = await readSigningKey(config.attestationKey);
  const deployer = lockInfoFor(stack);
  const servers = new ServerPrecheck({
    deploy: config.deploy,
    ssh: config.ssh,
    stack,
    lockToken: deployer.token,
    exclude: config.source.exclude,
  });
  const reporting = {
    stack,
    mode: preview ? ("preview" as const) : ("up" as const),
    reportDir: config.source.reportDir,
    killSwitch: config.deploy.killSwitch,
  };
  const unchanged = () =>
    servers.contacted
      ? "No resource was registered; the servers were only read."
      : "No resource was registered and no server was contacted.";
  const source = await runSourceGates(config.source, {
    afterPrecheck: (run, commit) =>
      servers.survey(run, { repo: config.source.repo, commit: commit.commit }),
    afterArtifact: (run, built) => servers.checkArtifact(run, built),
    laterGates: ["G5", "G6", "G7"],
    unchanged,
  })
    .catch((e: unknown) => reportBlocked(e, reporting, servers.hosts))
    .finally(() => servers.close());
  const builtOn = new Date().toISOString();
  await pulumi.log.info(`gates:\n${renderGateTable(source.gates)}`);

  const artifact = new Artifact("artifact", { build: source.artifact });
  const manifest = fs.readFileSync(source.artifact.manifestPath, "utf8");
  const links = fs.readFileSync(source.artifact.linksPath, "utf8");
  const lock = { ...deployer, artifact: source.artifact.sha256 };
  const deployments: Record<string, HostDeployment> = {};
  let previous: pulumi.Resource[] = [];
  for (const h of servers.hosts) {
    const d = new HostDeployment(h.name, {
      endpoint: endpointFor(h, config),
      deploy: config.deploy,
      artifact: source.artifact,
      manifest,
      links,
      lock,
      alreadyStaged: h.staged,
      exclude: config.source.exclude,
      invariantsBefore: h.survey.invariants,
      departures: h.departures,
      driftReconciled: h.driftReconciled,
      after: config.deploy.rollout === "serial" ? previous : [],
    });
    deployments[h.name] = d;
    previous = [d.done];
  }
  const summaries = pulumi.all(
    Object.fromEntries(Object.entries(deployments).map(([n, d]) => [n, d.summary])),
  );
  const hosts = servers.hosts.map((h) => ({
    name: h.name,
    changes: changesHost(h, source.artifact.releaseId),
    drift: h.drift,
  }));
  if (preview) {
    const gates = [...source.gates, ...previewGates(servers.hosts, source.artifact.releaseId)];
    const report = reportPreview(
      reporting,
      gates,
      source.changeSet,
      servers.hosts,
      hosts.some((h) => h.changes),
      unchanged(),
    );
    return {
      artifact: artifact.summary,
      gates,
      tests: source.tests,
      changeSet: source.changeSet,
      report,
    };
  }
  const reportFile = reportStarted(reporting, source.gates, source.changeSet, servers.hosts);
  const gates = summaries.apply((s) => [...source.gates, ...deployedGates(s)]);
  const attestation = new Attestation("attestation", {
    build: source.artifact,
    source: config.source,
    sourceUri: source.sourceUri,
    tests: source.tests,
    changeSet: source.changeSet,
    deploy: config.deploy,
    run: {
      stack,
      invocationId: randomUUID(),
      startedOn,
      operator: `${deployer.holder}@${deployer.host}`,
      toolVersion: TOOL_VERSION,
    },
    builtOn,
    hosts,
    summaries,
    gates,
    signingKey,
    reportFile,
  });

  return {
    artifact: artifact.summary,
    gates,
    tests: source.tests,
    changeSet: source.changeSet,
    deploy: summaries,
    result: attestation.result,
    attestation: attestation.bundle,
    report: attestation.report,
  };
};
