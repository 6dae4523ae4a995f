import { RawConfig } from "../config/keys";
import { parseStackConfig } from "../config/stack";
import { breakLockScript } from "../remote/lock";
import { blockedLine, keyValues } from "../remote/sh";
import { forEachHost, HostAccess } from "../survey/hosts";

export interface LockOptions extends HostAccess {
  raw: RawConfig;
}

/** One host's answer to `npm run lock -- release`. */
export interface LockRelease {
  host: string;
  /** "none" (no lock), "released", or "refused" with the reason. */
  outcome: "none" | "released" | "refused";
  detail: string;
}

/**
 * `npm run lock -- release`: on each host, gives the lock back when the deploy that took it
 * has ended there; a live holder is refused, named with its pid, unless `force`.
 */
export async function releaseLock(o: LockOptions, force: boolean): Promise<LockRelease[]> {
  // Validated as the program validates them, so a stack a deploy refuses is refused here too.
  const { deploy } = parseStackConfig(o.raw);
  return forEachHost(
    deploy,
    o,
    async (host, runner): Promise<LockRelease> => {
      const r = await runner.run(breakLockScript(deploy.deployRoot, force));
      const kv = keyValues(r.stdout);
      const refused = blockedLine(r.stdout);
      const holder = `${kv.lock_holder} on ${kv.lock_host} since ${kv.lock_since}`;
      if (refused !== undefined) return { host, outcome: "refused", detail: refused };
      if (kv.lock === "none") return { host, outcome: "none", detail: "no lock was held" };
      return {
        host,
        outcome: "released",
        detail: kv.lock_forced
          ? `released the lock of ${holder}, whose deploy still runs (${kv.lock_forced}), because --force was given`
          : `released the lock of ${holder}: its deploy has ended`,
      };
    },
    (host, f) => ({ host, outcome: "refused", detail: `${f.gap}; ${f.next}` }),
  );
}
