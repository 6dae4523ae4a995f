import * as path from "node:path";
import { runProgram } from "../harness/program";
import { projectRoot } from "../harness/paths";
import { ensureSampleRepo } from "../harness/sampleRepo";
import { readStackConfig } from "../harness/stackConfig";

/**
 * The local stack, run in-process: the program under Pulumi's mocked engine, first as a
 * preview and then as an up, exactly as `pulumi preview` and `pulumi up --stack local` would
 * run it, minus the CLI's state backend. Exits non-zero when a gate blocks.
 */
async function main(): Promise<number> {
  const root = projectRoot();
  process.chdir(root);
  const config = readStackConfig(root, "local");
  ensureSampleRepo(path.resolve(root, config.repo));
  for (const preview of [true, false]) {
    console.log(`\n== ${preview ? "preview" : "up"} (stack local, in-process) ==`);
    const run = await runProgram(config, { preview, stack: "local" });
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
    console.log(
      `resources registered: ${run.resources.map((r) => `${r.type} ${r.name}`).join(", ")}`,
    );
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
