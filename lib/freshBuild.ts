import * as fs from "node:fs";
import * as path from "node:path";
import { Refusal } from "./refusal";
import { firstTen } from "./text";

/** The folders the program is compiled from, beside index.ts. */
const PROGRAM_DIRS = [
  "config",
  "gates",
  "remote",
  "survey",
  "deploy",
  "components",
  "evidence",
  "tools",
  "lib",
];

/**
 * Each program source under `root` whose compiled file in `dist` is missing or older than it.
 * Exported for testing.
 */
export function staleSources(root: string, dist: string): string[] {
  const sources = ["index.ts"];
  const walk = (rel: string) => {
    const dir = path.join(root, rel);
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) sources.push(r);
    }
  };
  PROGRAM_DIRS.forEach(walk);
  return sources.filter((rel) => {
    const built = path.join(dist, rel.replace(/\.ts$/, ".js"));
    return (
      !fs.existsSync(built) ||
      fs.statSync(built).mtimeMs < fs.statSync(path.join(root, rel)).mtimeMs
    );
  });
}

/**
 * Refuses to run a compiled program older than its source. Pulumi runs dist/index.js (starting
 * it takes a fraction of a second, where compiling the TypeScript on every run took 2.5 s), so
 * an edit that was not built would otherwise deploy with the code from before it.
 */
export function requireFreshBuild(root: string, dist: string): void {
  const stale = staleSources(root, dist);
  if (stale.length === 0) return;
  throw new Refusal(
    `BLOCKED: the compiled program in ${dist} is older than its source (${firstTen(stale)}). Nothing was changed.\n` +
      "Next: npm run build, then run pulumi again.",
  );
}

/**
 * Where the program starts: in the project (stack settings name paths relative to it, and the
 * compiled program runs in dist/), from a build no older than its source.
 */
export function enterProject(rootDirectory: string, programFile: string): void {
  process.chdir(rootDirectory || process.cwd());
  if (programFile.endsWith(".js")) requireFreshBuild(process.cwd(), path.dirname(programFile));
}
