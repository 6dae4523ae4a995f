import * as pulumi from "@pulumi/pulumi";
import { Artifact } from "./components/artifact";
import { readSourceConfig } from "./components/config";
import { renderGateTable } from "./components/gates";
import { runSourceGates } from "./components/sourceGates";

// An async program: every gate is awaited before any resource is registered, so a blocked
// gate fails preview and up alike with nothing created.
export = async () => {
  const config = readSourceConfig();
  const source = await runSourceGates(config);
  await pulumi.log.info(`gates:\n${renderGateTable(source.gates)}`);

  const artifact = new Artifact("artifact", { build: source.artifact });

  return {
    artifact: artifact.summary,
    gates: source.gates,
    tests: source.tests,
    changeSet: source.changeSet,
  };
};
