import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../lib/paths";
import { EngineMissing, findEngine, LOCAL_BACKEND_DIR, withBackend } from "../tools/engine";
import { EXIT } from "./cli";

/**
 * npm run pulumi -- <args>: the CLI npm run engine built, with its arguments passed as they
 * are, in its own environment (see findEngine). The backend is $PULUMI_BACKEND_URL, or the one
 * this CLI has logged in to (npm run pulumi -- login <url>), or else the project's file backend
 * that npm run local uses. Its exit status is this command's.
 */
function main(): void {
  const root = projectRoot();
  let engine;
  try {
    engine = withBackend(findEngine(root), root);
  } catch (e) {
    if (!(e instanceof EngineMissing)) throw e;
    console.error(e.message);
    process.exit(EXIT.refused);
  }
  if (engine.backend === `file://${path.join(root, LOCAL_BACKEND_DIR)}`)
    fs.mkdirSync(path.join(root, LOCAL_BACKEND_DIR), { recursive: true });
  const child = spawn(engine.cli, process.argv.slice(2), { stdio: "inherit", env: engine.env });
  // The CLI handles an interrupt itself (it cancels the update cleanly): pass it on, once.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
  child.on("error", (e) => {
    console.error(`cannot run ${engine.cli}: ${e.message}`);
    process.exit(EXIT.refused);
  });
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 : EXIT.refused)));
}

main();
