import { RawConfig } from "../config/keys";
import { HostSpec, parseDeployConfig } from "../config/deploy";
import { breakLockScript } from "../remote/lock";
import { blockedLine, keyValues } from "../remote/sh";
import { connectionFailure } from "../survey/judge";
import { openRunner } from "../survey/runner";
import { SshError } from "../survey/ssh";
import { HostStatus, readStatus } from "./status";

export interface LockOptions {
  raw: RawConfig;
  privateKey?: string;
  passphrase?: string;
  host?: string;
}

/** One host's answer to `npm run lock -- release`. */
export interface LockRelease {
  host: string;
  /** "none" (no lock), "released", or "refused" with the reason. */
  outcome: "none" | "released" | "refused";
  detail: string;
}

/** `npm run lock -- status`: each host's lock, from the same read-only status. */
export async function lockStatus(o: LockOptions): Promise<HostStatus[]> {
  return readStatus(o);
}

/**
 * `npm run lock -- release`: on each host, gives the lock back when the deploy that took it
 * has ended there; a live holder is refused, named with its pid, unless `force`.
 */
export async function releaseLock(o: LockOptions, force: boolean): Promise<LockRelease[]> {
  const deploy = parseDeployConfig(o.raw);
  const targets: (HostSpec | undefined)[] =
    deploy.target === "local"
      ? [undefined]
      : deploy.hosts.filter((h) => !o.host || h.name === o.host);
  const out: LockRelease[] = [];
  for (const [i, spec] of targets.entries()) {
    const host = spec?.name ?? "local";
    let runner;
    try {
      runner = await openRunner(spec, o);
    } catch (e) {
      if (!(e instanceof SshError)) throw e;
      const f = connectionFailure(host, i, e);
      out.push({ host, outcome: "refused", detail: `${f.gap}; ${f.next}` });
      continue;
    }
    try {
      const r = await runner.run(breakLockScript(deploy.deployRoot, force));
      const kv = keyValues(r.stdout);
      const refused = blockedLine(r.stdout);
      const holder = `${kv.lock_holder} on ${kv.lock_host} since ${kv.lock_since}`;
      out.push(
        refused !== undefined
          ? { host, outcome: "refused", detail: refused }
          : kv.lock === "none"
            ? { host, outcome: "none", detail: "no lock was held" }
            : {
                host,
                outcome: "released",
                detail: kv.lock_forced
                  ? `released the lock of ${holder}, whose deploy still runs (${kv.lock_forced}), because --force was given`
                  : `released the lock of ${holder}: its deploy has ended`,
              },
      );
    } finally {
      runner.close();
    }
  }
  return out;
}
