import { lintSource } from "@secretlint/core";
import { secretLintProfiler } from "@secretlint/profiler";
import * as preset from "@secretlint/secretlint-rule-preset-recommend";
import * as pattern from "@secretlint/secretlint-rule-pattern";
import type { SecretLintCoreConfig } from "@secretlint/types";
import * as fs from "node:fs";
import { listBlobs, readBlobs } from "./blobs";
import { sha256Hex } from "../lib/hash";

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

/**
 * What a scan's result depends on besides the files: this project's rules and the versions of
 * the secretlint packages that apply them. A cached scan is keyed by it.
 */
export const SCANNER_ID = sha256Hex(
  JSON.stringify([
    PROJECT_RULES,
    ...[
      "@secretlint/core",
      "@secretlint/secretlint-rule-preset-recommend",
      "@secretlint/secretlint-rule-pattern",
    ].map(
      (p) =>
        (
          JSON.parse(fs.readFileSync(require.resolve(`${p}/package.json`), "utf8")) as {
            version: string;
          }
        ).version,
    ),
  ]),
);

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
  const result: ScanResult = { sha256: new Map(), scanned: 0, skipped: 0, findings: [] };
  for await (const { blob, content } of readBlobs(repo, targets)) {
    result.sha256.set(blob.path, sha256Hex(content));
    const scan = await scanBuffer(blob.path, content);
    if (scan.skipped) result.skipped++;
    else result.scanned++;
    result.findings.push(...scan.findings);
  }
  return result;
}
