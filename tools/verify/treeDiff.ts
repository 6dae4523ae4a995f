import * as fs from "node:fs";
import { createHash } from "node:crypto";
import { Parser, ReadEntry } from "tar";
import { escapedName, parseManifest } from "../../gates/artifact/manifest";
import { TreeDifferences } from "../../remote/serverFacts";
import { firstTen } from "../../lib/text";

/**
 * The differences in words: how many of each kind, then the first ten paths with their kind,
 * each escaped as in the manifests. Exported for testing.
 */
export function describeDifferences(d: TreeDifferences): string {
  const all = [
    ...d.modified.map((p) => `${escapedName(p)} (changed)`),
    ...d.added.map((p) => `${escapedName(p)} (added)`),
    ...d.missing.map((p) => `${escapedName(p)} (missing)`),
  ];
  return `${all.length} file(s) differ (${d.modified.length} changed, ${d.added.length} added, ${d.missing.length} missing): ${firstTen(all)}`;
}

/**
 * Compares a .tar.gz with a manifest, file by file, by reading the archive: what changed, what
 * it adds and what it lacks. Directories and symlinks are not files of the manifest.
 */
export async function artifactDifferences(
  file: string,
  manifest: string,
): Promise<TreeDifferences> {
  const expected = new Map(parseManifest(manifest).map((e) => [e.path, e.sha256]));
  const seen = new Map<string, string>();
  const parser = new Parser();
  parser.on("entry", (e: ReadEntry) => {
    if (e.type !== "File") {
      e.resume();
      return;
    }
    const h = createHash("sha256");
    const name = e.path.replace(/^\.\//, "");
    e.on("data", (c: Buffer) => h.update(c));
    e.on("end", () => seen.set(name, h.digest("hex")));
  });
  await new Promise<void>((resolve, reject) => {
    parser.on("end", resolve);
    parser.on("error", reject);
    fs.createReadStream(file).on("error", reject).pipe(parser);
  });
  const modified: string[] = [];
  const added: string[] = [];
  for (const [p, sha] of seen) {
    const want = expected.get(p);
    if (want === undefined) added.push(p);
    else if (want !== sha) modified.push(p);
  }
  const missing = [...expected.keys()].filter((p) => !seen.has(p));
  return { modified: modified.sort(), added: added.sort(), missing: missing.sort() };
}
