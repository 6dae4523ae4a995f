import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ThrowawayStack } from "../testbed/stack";
import { EngineRun } from "../testbed/events";

/** Seconds since `t`, a process.hrtime.bigint() reading. */
export const since = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** How long `fn` takes, in seconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t = process.hrtime.bigint();
  const value = await fn();
  return { value, seconds: since(t) };
}

/** `pulumi up` as an operator types it (the CLI previews, then updates), timed whole. */
export async function timedUp(
  stack: ThrowawayStack,
  config: Record<string, string>,
  extra: readonly string[] = [],
): Promise<{ run: EngineRun; seconds: number }> {
  await stack.configure(config);
  const { value, seconds } = await timed(() => stack.up(config, extra));
  if (value.code !== 0) throw value.error ?? new Error(value.stdout);
  return { run: value, seconds };
}

/** Runs git in `repo` with a fixed identity. */
export const git = (repo: string, ...args: string[]) =>
  execFileSync("git", args, {
    cwd: repo,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "b",
      GIT_AUTHOR_EMAIL: "b@example.invalid",
      GIT_COMMITTER_NAME: "b",
      GIT_COMMITTER_EMAIL: "b@example.invalid",
    },
  }).trim();

/** Commits a change to one file of `repo`; returns the new commit. */
export function commitChange(repo: string, label: string): string {
  fs.appendFileSync(path.join(repo, "pkg0", "mod0", "f0.txt"), `${label}\n`);
  git(repo, "commit", "-qam", label);
  return git(repo, "rev-parse", "HEAD");
}

/** A line of figures: a label padded to a column, then the text. */
export const line = (label: string, text: string) => `  ${label.padEnd(44)} ${text}`;

/** Runs a benchmark's main: exit 0 once it has printed its figures, else 1 with its error. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (e: Error) => {
      console.error(e.message);
      process.exit(1);
    },
  );
}
