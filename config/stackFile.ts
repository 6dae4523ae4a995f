import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";

/** Where a stack's settings live in the project. */
export function stackFilePath(root: string, stack: string): string {
  return path.join(root, `Pulumi.${stack}.yaml`);
}

/**
 * Reads a stack settings file into the raw string form the engine hands a program: keys
 * without the project prefix, lists and objects as JSON. An encrypted value stays a JSON
 * object ({"secure": …}): only the Pulumi CLI can decrypt it.
 */
export function readStackFile(file: string): Record<string, string> {
  const doc = yaml.load(fs.readFileSync(file, "utf8")) as {
    config?: Record<string, unknown>;
  } | null;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc?.config ?? {})) {
    if (!key.startsWith("ssot-deploy:")) continue;
    out[key.slice("ssot-deploy:".length)] =
      typeof value === "string" ? value : JSON.stringify(value);
  }
  return out;
}
