import { execFileSync } from "node:child_process";
import { HistoryUpdate, historyRows, renderHistory, rollbackCommands } from "../tools/history";
import { CommandSpec, EXIT, readOptionFile, runCommand, UsageError } from "./cli";

const SPEC: CommandSpec = {
  name: "history",
  summary:
    "Lists the stack's updates with the ref each deployed, the commit behind it and its result, " +
    "and which of them can be rolled back to; with --to N, the exact commands that roll back to " +
    "what update N deployed.",
  options: {
    stack: { type: "string", value: "<stack>", description: "the stack", required: true },
    "from-file": {
      type: "string",
      value: "<file>",
      description: "saved pulumi stack history --json output, instead of running the CLI",
    },
    revisions: {
      type: "string",
      value: "<file>",
      description:
        "a copy of the server's <deployRoot>/.deploy/revisions.jsonl: pins a branch ref to its commit",
    },
    to: { type: "string", value: "<update>", description: "the update to roll back to" },
  },
};

/** The stack's updates, from a saved file or from the Pulumi CLI. */
function readUpdates(stack: string, file: string | undefined): HistoryUpdate[] {
  const parse = (text: string, what: string) => {
    try {
      return JSON.parse(text) as HistoryUpdate[];
    } catch {
      throw new UsageError(`${what} is not the JSON pulumi stack history --json prints`);
    }
  };
  if (file !== undefined)
    return parse(
      readOptionFile("from-file", file, "save it with pulumi stack history --json > history.json"),
      `--from-file ${file}`,
    );
  try {
    const out = execFileSync("pulumi", ["stack", "history", "--json", "--stack", stack], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    return parse(out, "what pulumi stack history printed");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT")
      throw new UsageError(
        "the Pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/), " +
          "or pass --from-file with the output of pulumi stack history --json saved elsewhere",
      );
    throw e;
  }
}

runCommand(SPEC, async (values) => {
  const stack = values.stack as string;
  const to = values.to as string | undefined;
  if (to !== undefined && !/^\d+$/.test(to))
    throw new UsageError(`--to must be an update number, not ${to}`);
  const revisions = values.revisions as string | undefined;
  const log =
    revisions === undefined
      ? undefined
      : readOptionFile(
          "revisions",
          revisions,
          "copy it from the server: scp <host>:<deployRoot>/.deploy/revisions.jsonl .",
        );
  const rows = historyRows(readUpdates(stack, values["from-file"] as string | undefined), log);
  console.log(renderHistory(rows, stack));
  if (to === undefined) return EXIT.ok;
  const plan = rollbackCommands(rows, Number(to), stack);
  if ("refused" in plan) {
    console.error(`\nREFUSED: ${plan.refused}`);
    return EXIT.refused;
  }
  console.log(`\nto roll back to update ${to}, run:`);
  for (const c of plan.commands) console.log(`  ${c}`);
  for (const n of plan.notes) console.log(`note: ${n}`);
  return EXIT.ok;
});
