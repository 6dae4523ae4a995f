import { HistoryUpdate, historyRows, renderHistory, rollbackCommands } from "../tools/history";
import { EngineMissing, findEngine, withBackend } from "../tools/engine";
import { PulumiStack } from "../tools/pulumiStack";
import { projectRoot } from "../lib/paths";
import { hostLine, readHostLogs, switchesByUpdate, unreadLogs } from "../tools/historyHosts";
import { CommandSpec, EXIT, readOptionFile, runCommand, UsageError } from "./cli";
import { openStack, STACK_OPTIONS } from "./stack";

const SPEC: CommandSpec = {
  name: "history",
  summary:
    "Lists the stack's updates with the ref each deployed, the commit behind it and its result, " +
    "and which of them can be rolled back to; with --to N, the exact commands that roll back to " +
    "what update N deployed; with --servers, under each update, the release that went live on each host.",
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
    servers: {
      type: "boolean",
      description:
        "read every host's revisions log (read-only, one connection per host) and show, under each update, the release that went live on each host during it",
    },
    "config-file": {
      ...STACK_OPTIONS["config-file"],
      description: `with --servers: ${STACK_OPTIONS["config-file"].description}`,
    },
    key: { ...STACK_OPTIONS.key, description: `with --servers: ${STACK_OPTIONS.key.description}` },
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
  const servers = values.servers === true;
  for (const o of ["config-file", "key"])
    if (!servers && values[o] !== undefined)
      throw new UsageError(
        `--${o} is read only with --servers: add --servers to read each host's log`,
      );
  const updates = await readUpdates(stack, values["from-file"] as string | undefined);
  const rows = historyRows(updates, log);
  // Only --servers connects; without it history stays offline. The stack is opened after the
  // files above are read: opening it moves to the project's directory.
  const logs = servers ? await readHostLogs(...access(values)) : undefined;
  const switches = logs && switchesByUpdate(rows, logs);
  console.log(renderHistory(rows, stack, switches && ((r) => hostLine(switches.get(r.version)!))));
  const unread = logs && unreadLogs(logs);
  if (unread !== undefined) console.log(`\n${unread}`);
  // A host whose log could not be read is a check that failed, as in npm run status.
  const done = unread === undefined ? EXIT.ok : EXIT.refused;
  if (to === undefined) return done;
  const plan = rollbackCommands(rows, Number(to), stack);
  if ("refused" in plan) {
    console.error(`\nREFUSED: ${plan.refused}`);
    return EXIT.refused;
  }
  console.log(`\nto roll back to update ${to}, run:`);
  for (const c of plan.commands) console.log(`  ${c}`);
  for (const n of plan.notes) console.log(`note: ${n}`);
  return done;
});

/** The stack's settings and the key that reaches its servers, as readHostLogs takes them. */
function access(values: Record<string, string | boolean | undefined>) {
  const s = openStack(values);
  return [s.raw, { privateKey: s.privateKey, passphrase: s.passphrase }] as const;
}
