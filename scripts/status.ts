import { readStatus, renderStatus } from "../tools/status";
import { CommandSpec, EXIT, runCommand } from "./cli";
import { openStack, STACK_OPTIONS } from "./stack";

const SPEC: CommandSpec = {
  name: "status",
  summary:
    "What each server of the stack holds, read-only, one connection per host, with no build and " +
    "no test: the live release (commit, when and by whom, from the hash-chained revisions log), " +
    "the releases a rollback can use, the lock and its holder, the kill-switch, and drift.",
  options: {
    ...STACK_OPTIONS,
    host: { type: "string", value: "<name>", description: "only this host" },
    json: { type: "boolean", description: "print JSON, for scripts" },
  },
};

runCommand(SPEC, async (values) => {
  const s = openStack(values);
  const hosts = await readStatus({
    raw: s.raw,
    privateKey: s.privateKey,
    passphrase: s.passphrase,
    host: values.host as string | undefined,
  });
  console.log(values.json ? JSON.stringify(hosts, null, 2) : renderStatus(hosts));
  // A host that could not be read, or a log whose chain broke, is a check that failed.
  const failed = hosts.some((h) => h.gap !== undefined || h.log?.broken !== undefined);
  return failed ? EXIT.refused : EXIT.ok;
});
