import { KeyObject } from "node:crypto";
import { PROJECT, RawConfig } from "../config/keys";
import { openKeptEvidence } from "../evidence/kept";
import { DeployConfig } from "../config/deploy";
import { parseStackConfig } from "../config/stack";
import { checkChain } from "../evidence/revisions";
import { ExcludeFilter } from "../gates/artifact/excludes";
import { readKillSwitch } from "../remote/killSwitch";
import { KeptRelease, parseStatus, statusScript } from "../remote/status";
import { forEachHost, HostAccess } from "../survey/hosts";
import { firstTen } from "../lib/text";
import { fleetView } from "./fleet";

/** What `npm run status` says of one host: what it holds, or why it could not be read. */
export interface HostStatus {
  host: string;
  /** "user@host:port", or "local". */
  where?: string;
  /** Why the host could not be read, and what to do; the rest is then absent. */
  gap?: { gap: string; next: string };
  /** The live release and, from its revisions-log entry, when, by whom and from where. */
  live?: { release: string; commit?: string; time?: string; who?: string; from?: string } | null;
  /** The revisions log's hash chain. */
  log?: { entries: number; broken?: string };
  /** Every release kept in releases/, verified against its manifest, its evidence checked when a key is given. */
  releases?: StatusRelease[];
  lock?: {
    holder: string;
    host: string;
    since: string;
    ageSeconds: number;
    alive: boolean;
    pid?: string;
    stale: boolean;
  } | null;
  killSwitch?: { key: string; value: boolean | undefined };
  /** The live release's files that differ from its manifest (excludes left out); null when none. */
  drift?: { modified: string[]; added: string[] } | null;
}

/**
 * A kept release as status reports it. `evidenceCheck` says whether a rollback by `release`
 * can trust its evidence: "trusted" once it verified with the public key given, for this
 * project and stack, naming the digests the server holds and covering every entry; "not
 * checked" without a key; otherwise why not.
 */
export type StatusRelease = Omit<KeptRelease, "evidenceText"> & { evidenceCheck?: string };

export interface StatusOptions extends HostAccess {
  raw: RawConfig;
  /** The stack's name: its evidence must name it. */
  stack?: string;
  /** The public key the stack signs with; without it no evidence is checked. */
  publicKey?: KeyObject;
}

/**
 * Reads every host of the stack, read-only, one connection each, with no build and no test.
 * A host that cannot be read gets its exact gap; the others are still read. The settings are
 * validated as the program validates them: what a deploy would refuse, status refuses too.
 */
export async function readStatus(o: StatusOptions): Promise<HostStatus[]> {
  const { deploy, source } = parseStackConfig(o.raw);
  const { exclude } = source;
  return forEachHost(
    deploy,
    o,
    async (host, runner) => {
      const r = await runner.run(
        statusScript(deploy.deployRoot, deploy.killSwitch, exclude, deploy.sharedFiles),
      );
      const filter = new ExcludeFilter(exclude);
      const read = parseStatus(r.stdout, (p) => filter.excludes(p));
      return hostStatus(host, runner.where, read, deploy, exclude, {
        key: o.publicKey,
        owner: { project: PROJECT, stack: o.stack ?? "" },
      });
    },
    (host, gap) => ({ host, gap }),
  );
}

/** The gap of a host whose deploy root does not exist, and what to do. */
export function noDeployRoot(host: string, deployRoot: string): { gap: string; next: string } {
  return {
    gap: `server ${host}: ${deployRoot} does not exist: nothing was ever deployed there`,
    next: "deploy first (pulumi up), or set the stack's deployRoot to where the releases are: pulumi config set deployRoot <path>",
  };
}

/** One host's status from what its server printed. Exported for testing. */
export function hostStatus(
  host: string,
  where: string,
  s: ReturnType<typeof parseStatus>,
  deploy: DeployConfig,
  exclude: readonly string[],
  check: EvidenceCheck = { owner: { project: PROJECT, stack: "" } },
): HostStatus {
  const v = s.survey;
  if (!v.rootPresent) return { host, where, gap: noDeployRoot(host, deploy.deployRoot) };
  const chain = checkChain(s.revisions);
  const entry = [...chain.entries].reverse().find((e) => e.entry.releaseId === v.live)?.entry;
  const filter = new ExcludeFilter(exclude);
  const added = (v.drift?.added ?? []).filter((p) => !filter.excludes(p));
  const drifted = v.drift !== undefined && v.drift.modified.length + added.length > 0;
  return {
    host,
    where,
    live:
      v.layout !== "symlink" || v.live === undefined
        ? null
        : {
            release: v.live,
            commit: entry?.commit ?? v.liveCommit,
            time: entry?.time,
            who: entry?.who,
            from: entry?.host,
          },
    log: {
      entries: chain.entries.length,
      ...(chain.broken ? { broken: chain.broken.reason } : {}),
    },
    releases: s.releases.map(({ evidenceText, ...r }) => ({
      ...r,
      ...(r.evidence ? { evidenceCheck: evidenceCheck(r, evidenceText, check) } : {}),
    })),
    lock:
      v.lock === undefined
        ? null
        : { ...v.lock, stale: v.lock.ageSeconds >= deploy.staleLockSeconds },
    killSwitch: {
      key: deploy.killSwitch.key,
      value: readKillSwitch(v.killSwitchText, deploy.killSwitch),
    },
    drift: drifted ? { modified: v.drift!.modified, added } : null,
  };
}

/** The key and the owner a kept release's evidence is checked with. */
export interface EvidenceCheck {
  key?: KeyObject;
  owner: { project: string; stack: string };
}

/**
 * Whether a rollback by `release` would trust a kept release's evidence, as the rollback's
 * gates judge it: "trusted", "not checked" without a key, or the reason it is not trusted.
 * Exported for testing.
 */
export function evidenceCheck(
  r: KeptRelease,
  text: string | undefined,
  check: EvidenceCheck,
): string {
  if (!check.key) return "not checked";
  const facts = openKeptEvidence(text ?? "", r.id, check.key, check.owner);
  if ("reason" in facts) return facts.reason;
  const held = r.digests ?? {};
  for (const [what, k] of [
    ["manifest", "manifestSha256"],
    ["links file", "linksSha256"],
    ["entries list", "entriesSha256"],
  ] as const)
    if (held[k] !== facts[k])
      return `its ${what} (sha256 ${held[k] ?? "missing"}) is not the one its provenance names (${facts[k]})`;
  if ((r.uncovered ?? 0) > 0)
    return `${r.uncovered} entr${r.uncovered === 1 ? "y" : "ies"} of its tree are not covered by its signed entries list`;
  if (!facts.passed) return "its signed test result is not PASSED";
  return "trusted";
}

/** What status says of a verified, proved release with evidence, by its evidence's check. */
function withEvidence(r: StatusRelease, live: boolean): string {
  if (r.evidenceCheck === "trusted")
    return `matches its manifest, proved, evidence verified with the key given${live ? "" : `: pulumi config set release ${r.id} rolls back to it without testing again`}`;
  if (r.evidenceCheck === "not checked" || r.evidenceCheck === undefined)
    return "matches its manifest, proved, evidence kept but not checked: run again with --public-key <file.pub> (the stack's attestation public key) to see whether a rollback can take it";
  return `matches its manifest, proved, evidence NOT trusted: ${r.evidenceCheck}; roll back to it by ref (tests again)`;
}

/** The block of a host that could not be read: the gap and the next action. */
export function cannotRead(host: string, gap: { gap: string; next: string }): string {
  return [host, `  CANNOT READ  ${gap.gap}`, `  next         ${gap.next}`].join("\n");
}

/** The status as a table, a block per host, closed by the fleet's line when there are several. */
export function renderStatus(hosts: readonly HostStatus[]): string {
  const fleet = fleetView(hosts);
  const blocks = hosts.map((h) => {
    if (h.gap) return cannotRead(h.host, h.gap);
    const l = h.live;
    const rows: [string, string][] = [
      [
        "live",
        l
          ? `${l.release}${l.commit ? `, commit ${l.commit.slice(0, 12)}` : ""}${l.time ? `, deployed ${l.time} by ${l.who}@${l.from}` : ""}`
          : "nothing live",
      ],
      [
        "log",
        `${h.log!.entries} ${h.log!.entries === 1 ? "entry" : "entries"}, ${h.log!.broken ? `hash chain BROKEN: ${h.log!.broken}` : "hash chain intact"}`,
      ],
      ...h.releases!.map((r): [string, string] => [
        "release",
        `${r.id}${r.id === l?.release ? " (live)" : ""}: ${
          r.verified
            ? r.proved
              ? r.evidence
                ? withEvidence(r, r.id === l?.release)
                : "matches its manifest, proved, no evidence kept: roll back to it by ref (tests again)"
              : "matches its manifest, never proved: a rollback will not take it"
            : `FAILED: does not match its manifest${r.differs ? ` (${r.differs} differs)` : ""}`
        }`,
      ]),
      [
        "lock",
        h.lock
          ? `held by ${h.lock.holder} on ${h.lock.host} since ${h.lock.since} (${h.lock.ageSeconds}s ago${h.lock.stale ? ", stale" : ""}); ` +
            (h.lock.alive ? `its deploy still runs (pid ${h.lock.pid})` : "its deploy has ended")
          : "free",
      ],
      ["kill-switch", `${h.killSwitch!.key}=${h.killSwitch!.value ?? "unreadable or absent"}`],
      [
        "drift",
        h.drift
          ? [
              h.drift.modified.length ? `changed or missing: ${firstTen(h.drift.modified)}` : "",
              h.drift.added.length ? `added: ${firstTen(h.drift.added)}` : "",
            ]
              .filter((x) => x)
              .join("; ")
          : "none",
      ],
    ];
    return [`${h.host} (${h.where})`, ...rows.map(([k, v]) => `  ${k.padEnd(11)}  ${v}`)].join(
      "\n",
    );
  });
  return [...blocks, ...(fleet ? [fleet.line] : [])].join("\n\n");
}
