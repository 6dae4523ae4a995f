import { RawConfig } from "../config/keys";
import { parseStackConfig } from "../config/stack";
import { GateFailure } from "../gates/gate";
import { parseRevisionsLog, revisionsLogScript } from "../remote/status";
import { forEachHost, HostAccess } from "../survey/hosts";
import { HistoryRow, lastDuring, logEntries } from "./history";
import { cannotRead, noDeployRoot } from "./status";

/** One host's revisions log, as `npm run history -- --servers` read it, or why it could not. */
export interface HostLog {
  host: string;
  /** The log's text, empty when nothing was ever switched there. */
  log?: string;
  gap?: GateFailure;
}

/** What one host's log says of one update. */
export interface HostSwitch {
  host: string;
  /** The release the host's last entry during the update made live; absent when it wrote none. */
  releaseId?: string;
  /** That entry records a revert: the release before went live again. */
  revert?: boolean;
  /** The host's log could not be read: nothing is known of it. */
  unread?: boolean;
}

/**
 * Each host's log, read-only, one connection per host (through forEachHost: a host that cannot
 * be reached gets its exact gap and the others are still read). Each server writes its own log
 * as its own switch happens, so only the servers themselves say which release went live where.
 */
export async function readHostLogs(raw: RawConfig, access: HostAccess): Promise<HostLog[]> {
  const { deploy } = parseStackConfig(raw);
  return forEachHost(
    deploy,
    access,
    async (host, runner): Promise<HostLog> => {
      const read = parseRevisionsLog(
        (await runner.run(revisionsLogScript(deploy.deployRoot))).stdout,
      );
      return read.rootPresent
        ? { host, log: read.revisions }
        : { host, gap: noDeployRoot(host, deploy.deployRoot) };
    },
    (host, gap) => ({ host, gap }),
  );
}

/**
 * For each update, by version, what each host's log recorded going live during it, by the rule
 * `historyRows` pins a commit with: the last entry within the update's window. Hosts keep the
 * order the logs come in (the stack's). Exported for testing.
 */
export function switchesByUpdate(
  rows: readonly Pick<HistoryRow, "version" | "startTime" | "endTime">[],
  logs: readonly HostLog[],
): Map<number, HostSwitch[]> {
  const parsed = logs.map((l) => ({
    host: l.host,
    entries: l.gap ? undefined : logEntries(l.log ?? ""),
  }));
  return new Map(
    rows.map((r) => [
      r.version,
      parsed.map(({ host, entries }): HostSwitch => {
        if (entries === undefined) return { host, unread: true };
        const e = lastDuring(entries, r);
        if (e === undefined) return { host };
        const revert = (e as { event?: string }).event === "revert";
        return { host, releaseId: e.releaseId, ...(revert ? { revert } : {}) };
      }),
    ]),
  );
}

/** The line under an update: "web1 -> <release>   web2: no switch in this update". */
export function hostLine(switches: readonly HostSwitch[]): string {
  return switches
    .map((s) =>
      s.unread
        ? `${s.host}: not read (see below)`
        : s.releaseId === undefined
          ? `${s.host}: no switch in this update`
          : `${s.host} -> ${s.releaseId}${s.revert ? " (reverted to it)" : ""}`,
    )
    .join("   ");
}

/** The hosts whose log could not be read, each with its gap and next action, as status gives them. */
export function unreadLogs(logs: readonly HostLog[]): string | undefined {
  const blocks = logs.filter((l) => l.gap).map((l) => cannotRead(l.host, l.gap!));
  return blocks.length === 0 ? undefined : blocks.join("\n\n");
}
