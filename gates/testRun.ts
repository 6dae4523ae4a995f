import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { extract } from "tar";
import { parseTestOutput, TestCounts } from "./testParse";
import { sha256Hex } from "../lib/hash";

export interface TestRunOptions {
  repo: string;
  commit: string;
  /** Tree hash: the cache key, so a new commit with the same tree reuses the result. */
  tree: string;
  command: string;
  timeoutSeconds: number;
  cacheDir: string;
}

export interface TestRunResult {
  command: string;
  exitCode: number | null;
  timedOut: boolean;
  counts?: TestCounts;
  cached: boolean;
  /** The last lines of output, for the gate's detail when it fails. */
  tail: string[];
}

const TAIL_LINES = 20;
const OUTPUT_CAP = 4 * 1024 * 1024;

// Only what a test runner needs to find its tools. The operator's shell may hold cloud
// credentials and, under Pulumi, PULUMI_CONFIG holds this stack's secrets.
const PASS_THROUGH = ["PATH", "PYENV_ROOT", "PYENV_VERSION"];

/** The environment a test command sees. Exported for testing. */
export function scrubbedEnv(
  home: string,
  tmp: string,
  from: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of PASS_THROUGH) if (from[k] !== undefined) env[k] = from[k];
  return {
    ...env,
    HOME: home,
    TMPDIR: tmp,
    LANG: "C.UTF-8",
    LC_ALL: "C.UTF-8",
    TZ: "UTC",
    CI: "true",
    PYTHONDONTWRITEBYTECODE: "1",
  };
}

export function cacheKey(tree: string, command: string): string {
  return sha256Hex(`${tree}\0${command}`);
}

/** Passing means exit 0, counts read, nothing failed. Only passing runs are cached. */
export function ranClean(r: Pick<TestRunResult, "exitCode" | "timedOut" | "counts">): boolean {
  return r.exitCode === 0 && !r.timedOut && r.counts !== undefined && r.counts.failed === 0;
}

async function exportCommit(repo: string, commit: string, dir: string): Promise<void> {
  const git = spawn("git", ["-C", repo, "archive", "--format=tar", commit], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve, reject) =>
    git.on("close", (c) => (c === 0 ? resolve() : reject(new Error(`git archive exited ${c}`)))),
  );
  await Promise.all([pipeline(git.stdout, extract({ cwd: dir })), exited]);
}

function run(command: string, cwd: string, env: NodeJS.ProcessEnv, timeoutSeconds: number) {
  return new Promise<{ exitCode: number | null; timedOut: boolean; output: string }>(
    (resolve, reject) => {
      // Its own process group, so a timeout kills the runner's children too.
      const child = spawn("sh", ["-c", command], {
        cwd,
        env,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      const keep = (d: Buffer) => {
        output += d.toString("utf8");
        if (output.length > OUTPUT_CAP) output = output.slice(-OUTPUT_CAP);
      };
      child.stdout.on("data", keep);
      child.stderr.on("data", keep);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-(child.pid as number), "SIGKILL");
        } catch {
          // Already gone.
        }
      }, timeoutSeconds * 1000);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ exitCode: code, timedOut, output });
      });
    },
  );
}

/**
 * Gate G3's work: exports the commit with `git archive` into a fresh directory (never the
 * working tree), runs the test command there with a scrubbed environment and a timeout, and
 * reads the counts. A passing result is cached on disk by (tree, command).
 */
export async function runTests(opts: TestRunOptions): Promise<TestRunResult> {
  const cacheFile = path.join(opts.cacheDir, `${cacheKey(opts.tree, opts.command)}.json`);
  try {
    const hit = JSON.parse(await fs.promises.readFile(cacheFile, "utf8")) as TestRunResult;
    if (ranClean(hit)) return { ...hit, cached: true };
  } catch {
    // No usable cache entry: run the suite.
  }
  const root = await fs.promises.mkdtemp(path.join(os.tmpdir(), "ssot-deploy-tests-"));
  try {
    const src = path.join(root, "src");
    const home = path.join(root, "home");
    const tmp = path.join(root, "tmp");
    await Promise.all([src, home, tmp].map((d) => fs.promises.mkdir(d)));
    await exportCommit(opts.repo, opts.commit, src);
    const env = scrubbedEnv(home, tmp);
    const r = await run(opts.command, src, env, opts.timeoutSeconds);
    const text = r.output.trimEnd();
    const result: TestRunResult = {
      command: opts.command,
      exitCode: r.exitCode,
      timedOut: r.timedOut,
      counts: parseTestOutput(r.output),
      cached: false,
      tail: text === "" ? [] : text.split(/\r?\n/).slice(-TAIL_LINES),
    };
    if (ranClean(result)) {
      await fs.promises.mkdir(opts.cacheDir, { recursive: true });
      const tmpFile = `${cacheFile}.${process.pid}`;
      await fs.promises.writeFile(tmpFile, JSON.stringify(result));
      await fs.promises.rename(tmpFile, cacheFile);
    }
    return result;
  } finally {
    await fs.promises.rm(root, { recursive: true, force: true });
  }
}
