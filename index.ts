import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { Artifact } from "./components/artifact";
import { renderGateTable } from "./components/gates";
import { HostDeployment } from "./components/hostDeployment";
import { ServerPrecheck } from "./components/serverPrecheck";
import { runSourceGates } from "./components/sourceGates";
import { readStackConfig } from "./components/stackConfig";
import { deployedGates, endpointFor, lockInfoFor, previewGates } from "./components/targets";

// An async program: every gate, on this machine and the read-only survey of each server, is
// awaited before any resource is registered, so a blocked gate fails preview and up alike
// with nothing created.
export = async () => {
  const config = readStackConfig();
  const stack = pulumi.getStack();
  const deployer = lockInfoFor(stack);
  const servers = new ServerPrecheck(config.deploy, config.ssh, stack, deployer.token);
  const source = await runSourceGates(config.source, {
    afterPrecheck: (run, commit) =>
      servers.survey(run, { repo: config.source.repo, commit: commit.commit }),
    afterArtifact: (run, built) => servers.checkArtifact(run, built),
    laterGates: ["G5", "G6", "G7"],
    unchanged: () =>
      servers.contacted
        ? "No resource was registered; the servers were only read."
        : "No resource was registered and no server was contacted.",
  }).finally(() => servers.close());
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

  return {
    artifact: artifact.summary,
    gates: pulumi.runtime.isDryRun()
      ? [...source.gates, ...previewGates(servers.hosts, source.artifact.releaseId)]
      : summaries.apply((s) => [...source.gates, ...deployedGates(s)]),
    tests: source.tests,
    changeSet: source.changeSet,
    deploy: summaries,
  };
};
