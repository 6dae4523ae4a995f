import { HistoryUpdate, historyRows, renderHistory, rollbackCommands } from "../tools/history";
import { EngineMissing, findEngine, withBackend } from "../tools/engine";
import { PulumiStack } from "../tools/pulumiStack";
import { projectRoot } from "../lib/paths";
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

/**
 * The stack's updates, from a saved file or from the CLI npm run engine built (with the backend
 * npm run pulumi would use), never from another pulumi on PATH.
 */
async function readUpdates(stack: string, file: string | undefined): Promise<HistoryUpdate[]> {
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
  const root = projectRoot();
  let engine;
  try {
    engine = withBackend(findEngine(root), root);
  } catch (e) {
    if (!(e instanceof EngineMissing)) throw e;
    throw new UsageError(
      `${e.message}; or pass --from-file with the output of pulumi stack history --json saved elsewhere`,
    );
  }
  const run = await new PulumiStack(engine, stack, { cwd: root }).run(
    ["stack", "history"],
    ["--json"],
  );
  if (run.code !== 0)
    throw new Error(
      `pulumi stack history --stack ${stack} failed on ${engine.backend}: ${run.stderr.trim()}`,
    );
  return parse(run.stdout, "what pulumi stack history printed");
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
  const updates = await readUpdates(stack, values["from-file"] as string | undefined);
  const rows = historyRows(updates, log);
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
