import { expect } from "chai";
import * as path from "node:path";
import { FixtureRepo, PY_TEST_COMMAND, tempDir } from "./helpers/repo";
import { runProgram } from "../harness/program";

describe("the program with a good repository", function () {
  this.timeout(120_000);
  let repo: FixtureRepo;
  let workDir: string;
  before(() => {
    repo = FixtureRepo.create();
    workDir = tempDir();
  });
  after(() => repo.remove());

  for (const preview of [true, false]) {
    it(`exports artifact, gates, tests and changeSet in ${preview ? "preview" : "up"} mode`, async () => {
      const run = await runProgram(
        { repo: repo.dir, testCommand: PY_TEST_COMMAND, expectedTests: "3", workDir },
        { preview },
      );
      expect(run.error, run.error?.message).to.equal(undefined);
      const out = run.outputs!;
      expect(out.artifact.commit).to.equal(repo.head());
      expect(out.artifact.path).to.equal(
        path.join(workDir, "artifacts", `${out.artifact.releaseId}.tar.gz`),
      );
      expect(out.gates.map((g) => `${g.id}:${g.status}`)).to.deep.equal([
        "G0:PASS",
        "G2:PASS",
        "G1:PASS",
        "G3:PASS",
        "G4:PASS",
      ]);
      expect(out.tests).to.include({ command: PY_TEST_COMMAND, passed: 3, failed: 0, total: 3 });
      expect(out.changeSet.baseSource).to.equal("none");
      expect(run.resources.map((r) => r.type)).to.deep.equal(["ssot-deploy:artifact:Artifact"]);
    });
  }
});
