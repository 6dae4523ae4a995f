import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { HistoryUpdate, historyRows, renderHistory, rollbackCommands } from "../tools/history";

const USAGE =
  "usage: npm run history -- --stack <stack> [--from-file <saved pulumi stack history --json>] " +
  "[--revisions <copy of the server's .deploy/revisions.jsonl>] [--to <update number>]";

/** The stack's updates, from a saved file or from the Pulumi CLI. */
function readUpdates(stack: string, file: string | undefined): HistoryUpdate[] {
  if (file !== undefined) return JSON.parse(fs.readFileSync(file, "utf8")) as HistoryUpdate[];
  try {
    const out = execFileSync("pulumi", ["stack", "history", "--json", "--stack", stack], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    return JSON.parse(out) as HistoryUpdate[];
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(
        "the Pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/), " +
          "or pass --from-file with the output of pulumi stack history --json saved elsewhere",
      );
    }
    throw e;
  }
}

/**
 * `npm run history`: each update of the stack with its ref, the commit behind it and its result;
 * with --to N, the exact commands that roll back to what update N deployed.
 */
function main(): number {
  const { values } = parseArgs({
    options: {
      stack: { type: "string" },
      "from-file": { type: "string" },
      revisions: { type: "string" },
      to: { type: "string" },
    },
  });
  if (values.stack === undefined || (values.to !== undefined && !/^\d+$/.test(values.to))) {
    console.error(USAGE);
    return 2;
  }
  const log =
    values.revisions === undefined ? undefined : fs.readFileSync(values.revisions, "utf8");
  const rows = historyRows(readUpdates(values.stack, values["from-file"]), log);
  console.log(renderHistory(rows));
  if (values.to === undefined) return 0;
  const plan = rollbackCommands(rows, Number(values.to), values.stack);
  if ("refused" in plan) {
    console.error(`\nREFUSED: ${plan.refused}`);
    return 1;
  }
  console.log(`\nto roll back to update ${values.to}, run:`);
  for (const c of plan.commands) console.log(`  ${c}`);
  for (const n of plan.notes) console.log(`note: ${n}`);
  return 0;
}

try {
  process.exit(main());
} catch (e) {
  console.error(`error: ${(e as Error).message}`);
  process.exit(2);
}
