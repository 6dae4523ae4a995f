import { sha256Hex } from "../lib/hash";

/** One line of `.deploy/revisions.jsonl`, as the promote step writes it. */
export interface RevisionEntry {
  time: string;
  releaseId: string;
  commit: string;
  sha256: string;
  who: string;
  host: string;
  previous: string | null;
  /** sha256 of the line before this one, its newline included; null for the first. */
  prevHash: string | null;
}

/** The hash the next entry chains to: the line's bytes with its newline, as `sha256sum` sees them. */
export function entryHash(line: string): string {
  return sha256Hex(`${line}\n`);
}

export interface ChainCheck {
  entries: { line: number; hash: string; entry: RevisionEntry }[];
  /** The first entry that breaks the chain, 1-based, and why. */
  broken?: { line: number; reason: string };
}

/**
 * Walks the log from the top: every line must be an entry whose prevHash is the hash of the
 * line before it. An edited, inserted or deleted line breaks the link of the line after it;
 * the last line is covered by the attestation, which records its hash.
 */
export function checkChain(text: string): ChainCheck {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const entries: ChainCheck["entries"] = [];
  let prev: string | null = null;
  for (const [i, line] of lines.entries()) {
    const n = i + 1;
    let entry: RevisionEntry;
    try {
      entry = JSON.parse(line) as RevisionEntry;
    } catch {
      return { entries, broken: { line: n, reason: `line ${n} is not a JSON entry` } };
    }
    if (entry.prevHash !== prev) {
      const want = prev === null ? "null (the first entry)" : `${prev.slice(0, 16)}…`;
      const got = entry.prevHash === null ? "null" : `${String(entry.prevHash).slice(0, 16)}…`;
      return {
        entries,
        broken: {
          line: n,
          reason:
            `line ${n} (${entry.releaseId ?? "no releaseId"}) chains to ${got} but the line before it hashes to ${want}: ` +
            (n === 1
              ? "the log's first entry was removed or changed"
              : `line ${n - 1} was altered, or a line was inserted or removed`),
        },
      };
    }
    const hash = entryHash(line);
    entries.push({ line: n, hash, entry });
    prev = hash;
  }
  return { entries };
}
