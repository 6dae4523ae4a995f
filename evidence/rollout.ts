import type { DeployConfig } from "../config/deployTypes";
import type { HostSummary } from "../deploy/hostSummary";

/** How an up's hosts switched, as its attestation records it. */
export interface RolloutRecord {
  policy: DeployConfig["rollout"];
  /** The hosts in the batches they switched in, in order. */
  batches: string[][];
  /** Hosts whose `current` this up moved to the release. */
  switched: string[];
  /** Hosts on which the release was live already. */
  unchanged: string[];
}

/** A host by name and the release live on it (undefined: none, or a plain directory). */
export interface HostRelease {
  name: string;
  live?: string;
}

const list = (names: readonly string[]) => (names.length === 0 ? "none" : names.join(", "));

/** The hosts grouped by the release live on each (null: none), in the order they are declared. */
export function releaseGroups(
  hosts: readonly HostRelease[],
): { release: string | null; hosts: string[] }[] {
  const groups: { release: string | null; hosts: string[] }[] = [];
  for (const h of hosts) {
    const release = h.live ?? null;
    const group = groups.find((g) => g.release === release);
    if (group) group.hosts.push(h.name);
    else groups.push({ release, hosts: [h.name] });
  }
  return groups;
}

/**
 * Those groups in a line: "releases/A: web1, web2; releases/B: web3; no release: web4".
 * Exported for testing.
 */
export function byRelease(hosts: readonly HostRelease[]): string {
  return releaseGroups(hosts)
    .map(
      (g) =>
        `${g.release === null ? "no release" : `releases/${g.release}`}: ${g.hosts.join(", ")}`,
    )
    .join("; ");
}

/** The policy and its batches, in a line: "all-or-none, 1 batch: [web1, web2]". */
export function batchLine(policy: DeployConfig["rollout"], batches: readonly string[][]): string {
  const n = batches.length;
  return `${policy}, ${n} batch${n === 1 ? "" : "es"}: ${batches.map((b) => `[${b.join(", ")}]`).join(" then ")}`;
}

/**
 * What an up that finished did to each host, for its attestation: a host it switched is one
 * the survey found on another release, whose deploy reports `current` moved. (A deploy that
 * did not run again keeps reporting the switch of the up that ran it.)
 */
export function rolloutRecord(
  policy: DeployConfig["rollout"],
  batches: readonly string[][],
  hosts: readonly { name: string; changes: boolean }[],
  summaries: Record<string, Pick<HostSummary, "promoted">>,
): RolloutRecord {
  const names = batches.flat();
  const changes = new Set(hosts.filter((h) => h.changes).map((h) => h.name));
  const switched = (n: string) => changes.has(n) && summaries[n]?.promoted === "switched";
  return {
    policy,
    batches: batches.map((b) => [...b]),
    switched: names.filter(switched),
    unchanged: names.filter((n) => !switched(n)),
  };
}

/** The report's Rollout section of an up that finished. */
export function rolloutLines(r: RolloutRecord, releaseId: string): string[] {
  return [
    batchLine(r.policy, r.batches),
    `switched to releases/${releaseId} by this up: ${list(r.switched)}`,
    `already on it: ${list(r.unchanged)}`,
  ];
}

/**
 * The gap of an up that did not finish, naming the hosts on each release as far as this
 * machine knows it: a host whose deploy finished is on the new release; any other is where the
 * survey found it, unless its switch was under way, and a switch is one rename, so it left the
 * host on one release or the other, never between. The next preview reads which.
 */
export function unfinishedGap(
  startedAt: Date,
  releaseId: string,
  hosts: readonly HostRelease[],
  finished: ReadonlySet<string>,
): string {
  const done = hosts.filter((h) => finished.has(h.name));
  const open = hosts.filter((h) => !finished.has(h.name));
  return (
    `the up started at ${startedAt.toISOString()} and did not finish: an operation failed or the run was cancelled; ` +
    `on releases/${releaseId}, deployed by it: ${list(done.map((h) => h.name))}; ` +
    `not finished: ${open.length === 0 ? "none" : `${byRelease(open)} before it`}` +
    (open.length === 0
      ? ""
      : " (a switch cut partway leaves the release before or the new one, never a mix)")
  );
}
