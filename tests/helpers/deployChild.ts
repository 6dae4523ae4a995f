import * as fs from "node:fs";
import { runProgram } from "../../harness/program";
import { refusalOf } from "./catalogue";

/**
 * One `pulumi up` of the program in a process of its own, as a second working copy would run
 * it (the mocks are global to a process, so two deploys at once need two). The config comes as
 * JSON on stdin; the outcome goes to stdout as one line starting with RESULT.
 */
async function main(): Promise<void> {
  const config = JSON.parse(fs.readFileSync(0, "utf8")) as Record<string, string>;
  const run = await runProgram(config, { preview: false });
  const result = {
    deployed: run.error === undefined,
    refusal: refusalOf(run.error),
    error: run.error?.message,
    releaseId: run.outputs?.artifact.releaseId,
  };
  process.stdout.write(`\nRESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
}

void main();
