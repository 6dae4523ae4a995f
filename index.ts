import * as pulumi from "@pulumi/pulumi";
import { Artifact } from "./components/artifact";
import { renderGateTable } from "./components/gates";
import { runSourceGates } from "./components/sourceGates";
import { readStackConfig } from "./components/stackConfig";

// An async program: every gate is awaited before any resource is registered, so a blocked
// gate fails preview and up alike with nothing created.
export = async () => {
  const config = readStackConfig();
  const source = await runSourceGates(config.source);
  await pulumi.log.info(`gates:\n${renderGateTable(source.gates)}`);

  const artifact = new Artifact("artifact", { build: source.artifact });

  return {
    artifact: artifact.summary,
    gates: source.gates,
    tests: source.tests,
    changeSet: source.changeSet,
  };
};
