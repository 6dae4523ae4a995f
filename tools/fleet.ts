import { byRelease, releaseGroups } from "../evidence/rollout";

/**
 * The hosts read, release by release: a switch that failed partway leaves some hosts on the
 * new release and the rest on the one before until the next up converges them, and an operator
 * must see that at a glance rather than compare host blocks.
 */
export interface FleetView {
  /**
   * "one release": every host was read and all are on the same one; "nothing live": every host
   * was read and none has a release live; "mixed": the hosts read are not all on one release;
   * "not all read": those read agree, but a host could not be read, so the fleet is not known.
   */
  state: "one release" | "nothing live" | "mixed" | "not all read";
  /** The hosts read, grouped by live release in the order they are declared (null: nothing live). */
  releases: { release: string | null; hosts: string[] }[];
  /** The hosts that could not be read (each host block gives the gap). */
  unreadable: string[];
  /** The view in one line, as the table ends with it. */
  line: string;
}

/** What the view needs of a host's status: its name, its live release, or why it was not read. */
export interface ReadHost {
  host: string;
  gap?: unknown;
  live?: { release: string } | null;
}

/** The fleet's view from each host's status, or null with fewer than two hosts: nothing to compare. */
export function fleetView(hosts: readonly ReadHost[]): FleetView | null {
  if (hosts.length < 2) return null;
  const read = hosts
    .filter((h) => h.gap === undefined)
    .map((h) => ({ name: h.host, live: h.live?.release }));
  const unreadable = hosts.filter((h) => h.gap !== undefined).map((h) => h.host);
  const releases = releaseGroups(read);
  const state: FleetView["state"] =
    releases.length > 1
      ? "mixed"
      : unreadable.length > 0
        ? "not all read"
        : releases[0].release === null
          ? "nothing live"
          : "one release";
  const groups = [
    byRelease(read),
    unreadable.length > 0 ? `unreadable: ${unreadable.join(", ")}` : "",
  ]
    .filter((g) => g !== "")
    .join("; ");
  return { state, releases, unreadable, line: `fleet: ${SAYS[state]}: ${groups}${NEXT[state]}` };
}

const SAYS: Record<FleetView["state"], string> = {
  "one release": "all on one release",
  "nothing live": "nothing live on any host",
  mixed: "mixed",
  "not all read": "not all hosts read",
};

/** What to do about it, when there is something to do. */
const NEXT: Record<FleetView["state"], string> = {
  "one release": "",
  "nothing live": "",
  mixed:
    " (pulumi preview names the release the stack deploys; the next pulumi up deploys it to every host not on it yet)",
  "not all read": " (whether the fleet is on one release is not known until every host is read)",
};
