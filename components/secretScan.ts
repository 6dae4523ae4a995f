import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { lintSource } from "@secretlint/core";
import { secretLintProfiler } from "@secretlint/profiler";
import * as preset from "@secretlint/secretlint-rule-preset-recommend";
import * as pattern from "@secretlint/secretlint-rule-pattern";
import type { SecretLintCoreConfig } from "@secretlint/types";

/** Where a secret sits. Never the secret itself. */
export interface Finding {
  file: string;
  line: number;
  rule: string;
}

export interface ScanResult {
  /** sha256 of every file read, by path. */
  sha256: Map<string, string>;
  scanned: number;
  /** Binary or oversized files, which are not read as text. */
  skipped: number;
  findings: Finding[];
}

/** Files larger than this are not scanned as text (binaries and data dumps). */
export const MAX_SCAN_BYTES = 2 * 1024 * 1024;

// The recommended preset finds keys and tokens by their shape; these add what it leaves out:
// literals assigned to credential-named variables, AWS key ids, and env files by their name.
const PROJECT_RULES = [
  {
    id: "ssot/password-assignment",
    patterns: [
      // A credential word anywhere in the name (DB_PASSWORD, apiKey), then a quoted literal.
      "/[\\w.-]*(?:password|passwd|secret|api_?key|access_?token|auth_?token|private_?key)[\\w-]*[\"']?\\s*[:=]\\s*[\"'][^\"'\\s]{4,}[\"']/i",
    ],
  },
  { id: "ssot/aws-access-key-id", patterns: ["/\\b(?:AKIA|ASIA)[0-9A-Z]{16}\\b/"] },
  { id: "ssot/env-file", filePathGlobs: ["**/*.env", "**/.env", "**/.env.*", "**/.envrc"] },
];

const CONFIG: SecretLintCoreConfig = {
  rules: [
    { id: "@secretlint/secretlint-rule-preset-recommend", rule: preset.creator },
    ...PROJECT_RULES.map(({ id, ...p }) => ({
      id,
      rule: pattern.creator,
      options: { patterns: [{ name: id, ...p }] },
    })),
  ],
};

// secretlint's profiler records performance marks for every rule of every file and searches
// all marks so far for each new one, so a tree of N files costs O(N²). Nothing here reads the
// profile, so it records nothing.
secretLintProfiler.mark = () => undefined;

/** Scans one file's text. `file` is relative; rules match on it as if at the repo root. */
export async function scanText(file: string, content: string): Promise<Finding[]> {
  const result = await lintSource({
    source: { filePath: `/${file}`, content, contentType: "text" },
    // Masked so that no secret text is ever held in a message, even one we never print.
    options: { config: CONFIG, maskSecrets: true },
  });
  return result.messages
    .filter((m) => m.type === "message")
    .map((m) => ({ file, line: m.loc.start.line, rule: m.ruleId }));
}

function looksBinary(buf: Buffer): boolean {
  return buf.subarray(0, 8000).includes(0);
}

/** Scans one file's bytes; binary and oversized files are skipped, not read as text. */
export async function scanBuffer(
  file: string,
  content: Buffer,
): Promise<{ skipped: boolean; findings: Finding[] }> {
  if (content.length > MAX_SCAN_BYTES || looksBinary(content))
    return { skipped: true, findings: [] };
  return { skipped: false, findings: await scanText(file, content.toString("utf8")) };
}

/**
 * Reads every blob of `commit` that `include` accepts through one `git cat-file --batch`
 * process, hashes it and scans it. Blobs are addressed by object id, so any file name is safe
 * on the batch protocol.
 */
export async function scanCommit(
  repo: string,
  commit: string,
  include: (path: string) => boolean,
): Promise<ScanResult> {
  const targets = (await listBlobs(repo, commit)).filter((b) => include(b.path));
  const child = spawn("git", ["-C", repo, "cat-file", "--batch"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const result: ScanResult = { sha256: new Map(), scanned: 0, skipped: 0, findings: [] };
  const reader = batchReader(child.stdout);
  child.stdin.end(targets.map((t) => `${t.oid}\n`).join(""));
  for (const t of targets) {
    const content = await reader.next(t.size);
    result.sha256.set(t.path, createHash("sha256").update(content).digest("hex"));
    const scan = await scanBuffer(t.path, content);
    if (scan.skipped) result.skipped++;
    else result.scanned++;
    result.findings.push(...scan.findings);
  }
  await new Promise((resolve) => child.on("close", resolve));
  return result;
}

async function listBlobs(repo: string, commit: string) {
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
