import { spawn } from "node:child_process";
import { sha256Hex } from "../lib/hash";

/** A blob of a commit's tree. */
export interface Blob {
  path: string;
  oid: string;
  size: number;
}

/**
 * Reads the given blobs through one `git cat-file --batch` process, in order. Blobs are
 * addressed by object id, so any file name is safe on the batch protocol.
 */
export async function* readBlobs(
  repo: string,
  blobs: readonly Blob[],
): AsyncGenerator<{ blob: Blob; content: Buffer }> {
  const child = spawn("git", ["-C", repo, "cat-file", "--batch"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const closed = new Promise((resolve) => child.on("close", resolve));
  const reader = batchReader(child.stdout);
  child.stdin.end(blobs.map((b) => `${b.oid}\n`).join(""));
  for (const blob of blobs) yield { blob, content: await reader.next(blob.size) };
  await closed;
}

/**
 * The sha256 of each path's content at `commit`, or undefined where the commit has no such
 * file.
 */
export async function contentSha256(
  repo: string,
  commit: string,
  paths: readonly string[],
): Promise<Map<string, string | undefined>> {
  const out = new Map<string, string | undefined>(paths.map((p) => [p, undefined]));
  if (paths.length === 0) return out;
  const wanted = (await listBlobs(repo, commit)).filter((b) => out.has(b.path));
  for await (const { blob, content } of readBlobs(repo, wanted))
    out.set(blob.path, sha256Hex(content));
  return out;
}

/** Every blob of `commit`: path, object id and size. */
export async function listBlobs(repo: string, commit: string) {
  const out = await collect(
    spawn("git", ["-C", repo, "ls-tree", "-r", "-z", "-l", "--full-tree", commit]),
  );
  return out
    .toString("utf8")
    .split("\0")
    .filter((l) => l !== "")
    .map((line) => {
      const tab = line.indexOf("\t");
      const [, type, oid, size] = line.slice(0, tab).split(/\s+/);
      return { type, oid, size: Number(size), path: line.slice(tab + 1) };
    })
    .filter((b) => b.type === "blob");
}

function collect(child: ReturnType<typeof spawn>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  child.stdout?.on("data", (c: Buffer) => chunks.push(c));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`git exited ${code}`)),
    );
  });
}

/**
 * Pulls "<oid> blob <size>\n<content>\n" records off a cat-file --batch stream, in order. Chunks
 * are queued, not concatenated, and the stream is paused while more than HIGH_WATER bytes wait,
 * so memory stays bounded and each byte is copied once.
 */
function batchReader(stream: NodeJS.ReadableStream) {
  const HIGH_WATER = 8 * 1024 * 1024;
  const chunks: Buffer[] = [];
  let queued = 0;
  let ended = false;
  let wake: (() => void) | undefined;
  stream.on("data", (c: Buffer) => {
    chunks.push(c);
    queued += c.length;
    if (queued > HIGH_WATER) stream.pause();
    wake?.();
  });
  stream.on("end", () => {
    ended = true;
    wake?.();
  });
  const waitFor = async (n: number) => {
    while (queued < n && !ended) {
      stream.resume();
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
    if (queued < n) throw new Error("git cat-file --batch ended early");
  };
  const take = (n: number): Buffer => {
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const head = chunks[0];
      if (head.length <= need) {
        parts.push(head);
        chunks.shift();
        need -= head.length;
      } else {
        parts.push(head.subarray(0, need));
        chunks[0] = head.subarray(need);
        need = 0;
      }
    }
    queued -= n;
    if (queued <= HIGH_WATER) stream.resume();
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, n);
  };
  const headerLength = async (): Promise<number> => {
    for (;;) {
      let seen = 0;
      for (const c of chunks) {
        const nl = c.indexOf(10);
        if (nl >= 0) return seen + nl + 1;
        seen += c.length;
      }
      await waitFor(queued + 1);
    }
  };
  return {
    async next(size: number): Promise<Buffer> {
      take(await headerLength());
      await waitFor(size + 1);
      const content = Buffer.from(take(size));
      take(1);
      return content;
    },
  };
}
