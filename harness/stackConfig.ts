import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";

/**
 * Reads `Pulumi.<stack>.yaml` into the raw string form the engine hands a program: keys
 * without the project prefix, lists and objects as JSON.
 */
export function readStackConfig(root: string, stack: string): Record<string, string> {
  const file = path.join(root, `Pulumi.${stack}.yaml`);
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
