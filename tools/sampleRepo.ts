import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot, readTree } from "../lib/paths";

/** The sample application the local stack deploys, in this project. */
export const SAMPLE_APP_DIR = () => path.join(projectRoot(), "examples", "sample-app");

/** The repo path Pulumi.local.yaml ships with: the only one `npm run local` creates. */
export const SAMPLE_REPO = ".ssot-deploy/sample-repo";

const IDENTITY = {
  GIT_AUTHOR_NAME: "ssot-deploy sample",
  GIT_AUTHOR_EMAIL: "sample@example.invalid",
  GIT_COMMITTER_NAME: "ssot-deploy sample",
  GIT_COMMITTER_EMAIL: "sample@example.invalid",
  GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z",
  GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z",
};

/**
 * Makes `dir` a git repository holding examples/sample-app as one commit on main, the SSOT
 * that the local stack deploys. A repository already there is left as it is, so commits the
 * operator adds to it survive.
 */
export function ensureSampleRepo(dir: string): string {
  if (fs.existsSync(path.join(dir, ".git"))) return dir;
  fs.mkdirSync(dir, { recursive: true });
  for (const [rel, content] of Object.entries(readTree(SAMPLE_APP_DIR()))) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  const env = { PATH: process.env.PATH, HOME: dir, ...IDENTITY };
  for (const args of [
    ["init", "-q", "-b", "main"],
    ["add", "-A"],
    ["commit", "-q", "-m", "sample service"],
  ]) {
    execFileSync("git", args, { cwd: dir, env });
  }
  return dir;
}
