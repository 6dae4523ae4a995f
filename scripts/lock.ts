import { releaseLock } from "../tools/lock";
import { readStatus } from "../tools/status";
import { CommandSpec, EXIT, runCommand } from "./cli";
import { openStack, STACK_OPTIONS } from "./stack";

const SPEC: CommandSpec = {
  name: "lock",
  summary:
    "The deploy lock on each server. status: who holds it, since when (on the server's clock), " +
    "and whether that deploy still runs. release: gives it back only when that deploy has ended " +
    "there, or with --force, naming the holder.",
  positional: {
    value: "status|release",
    description: "what to do",
    choices: ["status", "release"],
  },
  options: {
    ...STACK_OPTIONS,
    host: { type: "string", value: "<name>", description: "only this host" },
    force: { type: "boolean", description: "release a lock whose deploy still runs" },
  },
};

runCommand(SPEC, async (values, action) => {
  const s = openStack(values);
  const o = {
    raw: s.raw,
    privateKey: s.privateKey,
    passphrase: s.passphrase,
    host: values.host as string | undefined,
  };
  if (action === "status") {
    const hosts = await readStatus(o);
    for (const h of hosts) {
      if (h.gap) console.log(`${h.host}: CANNOT READ: ${h.gap.gap}; ${h.gap.next}`);
      else if (!h.lock) console.log(`${h.host}: free`);
      else
        console.log(
          `${h.host}: held by ${h.lock.holder} on ${h.lock.host} since ${h.lock.since} (${h.lock.ageSeconds}s ago${h.lock.stale ? ", stale" : ""}); ` +
            (h.lock.alive
              ? `its deploy still runs (pid ${h.lock.pid})`
              : "its deploy has ended: npm run lock -- release gives it back"),
        );
    }
    return hosts.some((h) => h.gap) ? EXIT.refused : EXIT.ok;
  }
  const released = await releaseLock(o, values.force === true);
  for (const r of released)
    console.log(`${r.host}: ${r.outcome === "refused" ? "REFUSED: " : ""}${r.detail}`);
  return released.some((r) => r.outcome === "refused") ? EXIT.refused : EXIT.ok;
});
