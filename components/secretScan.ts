import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { lintSource } from "@secretlint/core";
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
    if (t.size > MAX_SCAN_BYTES || looksBinary(content)) {
      result.skipped++;
      continue;
    }
    result.scanned++;
    result.findings.push(...(await scanText(t.path, content.toString("utf8"))));
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

/** Pulls "<oid> blob <size>\n<content>\n" records off a cat-file --batch stream, in order. */
function batchReader(stream: NodeJS.ReadableStream) {
  let buf: Buffer = Buffer.alloc(0);
  let waiting: (() => void) | undefined;
  let ended = false;
  stream.on("data", (c: Buffer) => {
    buf = buf.length === 0 ? c : Buffer.concat([buf, c]);
    waiting?.();
  });
  stream.on("end", () => {
    ended = true;
    waiting?.();
  });
  const fill = async (n: number) => {
    while (buf.length < n && !ended) await new Promise<void>((r) => (waiting = r));
    waiting = undefined;
    if (buf.length < n) throw new Error("git cat-file --batch ended early");
  };
  return {
    async next(size: number): Promise<Buffer> {
      let nl = buf.indexOf(10);
      while (nl < 0) {
        await fill(buf.length + 1);
        nl = buf.indexOf(10);
      }
      const total = nl + 1 + size + 1;
      await fill(total);
      const content = buf.subarray(nl + 1, nl + 1 + size);
      buf = buf.subarray(total);
      return Buffer.from(content);
    },
  };
}
