import { RevisionEntry } from "../evidence/revisions";

/** One update as `pulumi stack history --json` prints it. */
export interface HistoryUpdate {
  version?: number;
  kind: string;
  startTime: string;
  endTime?: string;
  message?: string;
  result?: string;
  config?: Record<string, { value?: string; objectValue?: unknown; secret?: boolean }>;
  environment?: Record<string, string>;
}

/** An update as `npm run history` lists it. */
export interface HistoryRow {
  version: number;
  kind: string;
  result: string;
  startTime: string;
  /** When it ended; absent while it runs. */
  endTime?: string;
  ref: string;
  /** The commit deployed: the ref itself when it is a full commit id, else from the revisions log. */
  commit?: string;
  /** The release the revisions log recorded going live during the update. */
  releaseId?: string;
  config: Record<string, string>;
}

const KEY = "ssot-deploy:";
const FULL_COMMIT = /^[0-9a-f]{40}$/;

function configOf(u: HistoryUpdate): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(u.config ?? {})) {
    if (!k.startsWith(KEY)) continue;
    out[k.slice(KEY.length)] = v.secret
      ? "[secret]"
      : (v.value ?? JSON.stringify(v.objectValue ?? null));
  }
  return out;
}

/**
 * A revisions log's entries, in the order written. Every entry counts here, chained or not:
 * whether the log was altered is npm run verify's question.
 */
export function logEntries(text: string): RevisionEntry[] {
  return text.split("\n").flatMap((line): RevisionEntry[] => {
    try {
      return line.trim() === "" ? [] : [JSON.parse(line) as RevisionEntry];
    } catch {
      return [];
    }
  });
}

/**
 * The last entry written during an update: what it left live. The log stamps whole seconds, so
 * the update's window is widened by one each side; one still running has no end.
 */
export function lastDuring(
  entries: readonly RevisionEntry[],
  u: { startTime: string; endTime?: string },
): RevisionEntry | undefined {
  const start = Date.parse(u.startTime);
  const end = u.endTime === undefined ? Number.POSITIVE_INFINITY : Date.parse(u.endTime);
  return [...entries]
    .reverse()
    .find((e) => Date.parse(e.time) >= start - 1000 && Date.parse(e.time) <= end + 1000);
}

/**
 * Lists updates, newest first, with the ref each deployed and the commit behind it. A ref that
 * is a branch or tag may have moved since, so the commit comes from the server's revisions log
 * (an entry written between the update's start and end) when one is given.
 */
export function historyRows(
  updates: readonly HistoryUpdate[],
  revisionsLog?: string,
): HistoryRow[] {
  const entries = logEntries(revisionsLog ?? "");
  const rows = updates.map((u, i) => {
    const config = configOf(u);
    const ref = config.ref ?? "HEAD";
    const live = lastDuring(entries, u);
    return {
      // The file backend numbers no update (version 0): they are numbered by position, oldest 1.
      version: u.version || updates.length - i,
      kind: u.kind,
      result: u.result ?? "in progress",
      startTime: u.startTime,
      ...(u.endTime === undefined ? {} : { endTime: u.endTime }),
      ref,
      commit: FULL_COMMIT.test(ref) ? ref : live?.commit,
      // A rollback by `release` names its release whatever the log holds.
      releaseId: config.release || live?.releaseId,
      config,
    };
  });
  return rows.sort((a, b) => b.version - a.version);
}

/**
 * The updates, newest first, each with what it deployed (and `under` it, a line of its own when
 * given) and whether it can be rolled back to: only what `rollbackCommands` would act on is
 * offered, with the command; every other row says why not.
 */
export function renderHistory(
  rows: readonly HistoryRow[],
  stack: string,
  under: (r: HistoryRow) => string | undefined = () => undefined,
): string {
  const lines = rows.map((r) => {
    const plan = rollbackCommands(rows, r.version, stack);
    const below = under(r);
    const back =
      "refused" in plan
        ? `cannot roll back to it: ${whyNot(r)}`
        : `roll back: npm run history -- --stack ${stack} --to ${r.version}`;
    return (
      `${String(r.version).padStart(4)}  ${r.startTime}  ${r.kind.padEnd(8)} ${r.result.padEnd(10)} ` +
      `ref ${r.ref}${r.commit && r.commit !== r.ref ? ` -> ${r.commit}` : ""}` +
      (r.releaseId ? `  (release ${r.releaseId})` : "") +
      (below === undefined ? "" : `\n        ${below}`) +
      `\n        ${back}`
    );
  });
  return ["   #  started               kind     result     deployed", ...lines].join("\n");
}

/** In a few words, why an update cannot be rolled back to. */
function whyNot(r: HistoryRow): string {
  if (r.kind !== "update") return `a ${r.kind} deploys nothing`;
  if (r.result !== "succeeded") return `it ended ${r.result}`;
  return "its ref names no fixed commit; pass --revisions <copy of the server's revisions.jsonl> to pin it";
}

/**
 * The exact commands that roll the stack back to update `version`: name the release that update
 * deployed (no build, no test run), or, when it is not known, pin ref to its commit; then
 * preview, up. Refuses an update that did not deploy, or whose commit is not
 * known, with the reason and what to do instead.
 */
export function rollbackCommands(
  rows: readonly HistoryRow[],
  version: number,
  stack: string,
): { commands: string[]; notes: string[] } | { refused: string } {
  const row = rows.find((r) => r.version === version);
  if (row === undefined) {
    return {
      refused: `the stack has no update ${version}; the updates are ${rows.map((r) => r.version).join(", ")}`,
    };
  }
  if (row.kind !== "update" || row.result !== "succeeded") {
    const ok = rows
      .filter((r) => r.kind === "update" && r.result === "succeeded")
      .map((r) => r.version);
    return {
      refused:
        `update ${version} is ${row.kind === "update" ? "an" : "a"} ${row.kind} that ${row.result === "succeeded" ? "succeeded" : `ended ${row.result}`}; ` +
        `only a succeeded update deployed something to roll back to: choose one of ${ok.join(", ") || "(none)"}`,
    };
  }
  if (row.commit === undefined && row.releaseId === undefined) {
    return {
      refused:
        `update ${version} deployed ref ${row.ref}, a name that may have moved since, and no revisions-log entry ` +
        `falls within it: pass the server's log (--revisions <copy of <deployRoot>/.deploy/revisions.jsonl>) to pin its commit`,
    };
  }
  const latest = rows[0];
  const notes = Object.keys({ ...row.config, ...latest.config })
    .filter((k) => k !== "ref" && k !== "release" && row.config[k] !== latest.config[k])
    .map(
      (k) =>
        `config ${k} was ${row.config[k] ?? "(unset)"} then and is ${latest.config[k] ?? "(unset)"} now; only ${row.releaseId ? "the release" : "ref"} is rolled back`,
    );
  // The release it deployed, while the hosts keep it, switches back without testing again.
  if (row.releaseId)
    return {
      commands: [
        `pulumi config set release ${row.releaseId} --stack ${stack}`,
        `pulumi preview --stack ${stack}`,
        `pulumi up --stack ${stack}`,
      ],
      notes: [
        ...notes,
        `if the hosts no longer keep release ${row.releaseId} (npm run status -- --stack ${stack} lists what they keep), roll back by commit, which tests and builds again: pulumi config set release '' --stack ${stack} && pulumi config set ref ${row.commit ?? "<its commit>"} --stack ${stack}`,
      ],
    };
  return {
    commands: [
      `pulumi config set ref ${row.commit} --stack ${stack}`,
      `pulumi preview --stack ${stack}`,
      `pulumi up --stack ${stack}`,
    ],
    notes,
  };
}
