import { DeployConfig } from "../config/deploy";
import { GateFailure } from "../gates/gate";
import { connectionFailure } from "./judge";
import { openRunner, Runner } from "./runner";
import { SshError } from "./ssh";

/** How a tool reaches a stack's servers: the key, and one host or all of them. */
export interface HostAccess {
  privateKey?: string;
  passphrase?: string;
  /** Only the host of this name; every host when unset. */
  host?: string;
}

/**
 * Runs `read` on each of the stack's targets (this machine for target local), one connection
 * each, closed after. A host that cannot be reached gets `unreachable` with the exact gap, and
 * the others are still read. The gap's fix names the host's index in the stack's own list.
 */
export async function forEachHost<T>(
  deploy: DeployConfig,
  access: HostAccess,
  read: (host: string, runner: Runner) => Promise<T>,
  unreachable: (host: string, failure: GateFailure) => T,
): Promise<T[]> {
  const specs =
    deploy.target === "local"
      ? [undefined]
      : deploy.hosts.filter((h) => !access.host || h.name === access.host);
  const out: T[] = [];
  for (const spec of specs) {
    const host = spec?.name ?? "local";
    let runner: Runner;
    try {
      runner = await openRunner(spec, access);
    } catch (e) {
      if (!(e instanceof SshError)) throw e;
      out.push(unreachable(host, connectionFailure(host, deploy.hosts.indexOf(spec!), e)));
      continue;
    }
    try {
      out.push(await read(host, runner));
    } finally {
      runner.close();
    }
  }
  return out;
}
