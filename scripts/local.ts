import * as fs from "node:fs";
import * as path from "node:path";
import { renderChecks, verifyAttestation } from "../components/verifyRun";
import { CommandLifecycle } from "../harness/lifecycle";
import { runProgram } from "../harness/program";
import { describeBackup } from "../components/targets";
import { projectRoot } from "../harness/paths";
import { ensureSampleRepo } from "../harness/sampleRepo";
import { readStackFile, stackFilePath } from "../components/stackFile";

/**
 * The local stack, run in-process: the program under Pulumi's mocked engine, first as a
 * preview and then as an up, with the command provider's lifecycle played for real against
 * .ssot-deploy/local-server. The provider state lives for this process only, as if each run
 * were a fresh stack: the layout on disk is what carries over. Exits non-zero when a gate blocks.
 */
async function main(): Promise<number> {
  const root = projectRoot();
  process.chdir(root);
  const config = readStackFile(stackFilePath(root, "local"));
  ensureSampleRepo(path.resolve(root, config.repo));
  const lifecycle = new CommandLifecycle();
  for (const preview of [true, false]) {
    console.log(`\n== ${preview ? "preview" : "up"} (stack local, in-process) ==`);
    const run = await runProgram(config, { preview, stack: "local", lifecycle });
    if (run.error) {
      console.error(run.error.message);
      return 1;
    }
    const out = run.outputs!;
    console.log(`artifact: ${out.artifact.path}`);
    console.log(
      `  commit ${out.artifact.commit}, ${out.artifact.files} files, sha256 ${out.artifact.sha256}`,
    );
    console.log(
      `tests: ${out.tests.passed}/${out.tests.total} passed${out.tests.cached ? " (cached)" : ""}`,
    );
    for (const [host, d] of Object.entries(out.deploy ?? {})) {
      console.log(
        `deploy ${host}: ${d.promoted} ${d.previous || "nothing"} -> ${d.releaseId}; ${describeBackup(d.backup)}`,
      );
      console.log(
        `  kill-switch declared ${d.killSwitch.declared}, read back ${d.killSwitch.readBack}; restarted ${d.restarted}`,
      );
      console.log(
        `  proof ${d.proof.passed ? "passed" : "FAILED"}: ${d.proof.probes.map((p) => `${p.name} exit ${p.exit}`).join(", ")}`,
      );
    }
    console.log(out.gates.map((g) => `${g.id} ${g.status}`).join("  "));
    console.log(`report: ${out.report}`);
    if (out.attestation !== undefined) {
      // Saved as pulumi stack output attestation --json would save it, then checked as npm run verify checks it.
      const saved = out.report.replace(/\.md$/, ".attestation.json");
      fs.writeFileSync(saved, JSON.stringify(out.attestation, null, 2));
      console.log(`result: ${out.result}; attestation: ${saved}`);
      const checks = await verifyAttestation({
        attestation: fs.readFileSync(saved, "utf8"),
        artifact: out.artifact.path,
        servers: { raw: config },
      });
      const { text, ok } = renderChecks(checks);
      console.log(
        `npm run verify -- --attestation ${path.relative(root, saved)} --artifact ${path.relative(root, out.artifact.path)} --stack local\n${text}`,
      );
      if (!ok) return 1;
    }
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);
