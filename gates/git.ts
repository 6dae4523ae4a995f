import { simpleGit, SimpleGit } from "simple-git";

/** A ref resolved to a commit, with what the artifact needs from it. */
export interface ResolvedCommit {
  commit: string;
  tree: string;
  /** Committer time, seconds since the epoch: the mtime of every artifact entry. */
  time: number;
  subject: string;
}

export interface UpstreamStatus {
  upstream: string;
  ahead: number;
  behind: number;
}

/** A change between two commits, as `git diff --name-status` reports it. */
export interface NameStatus {
  status: "A" | "M" | "D" | "R" | "T" | "C";
  path: string;
  from?: string;
}

export function openRepo(repo: string): SimpleGit {
  // Scrubbed so that a GIT_DIR or GIT_INDEX_FILE in the operator's shell cannot redirect us.
  return simpleGit({ baseDir: repo, maxConcurrentProcesses: 4 }).env({
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/",
    LANG: "C",
  });
}

export async function repoTopLevel(git: SimpleGit): Promise<string | undefined> {
  try {
    const top = (await git.raw(["rev-parse", "--show-toplevel"])).trim();
    return top === "" ? undefined : top;
  } catch {
    return undefined;
  }
}

/** Resolves `ref` to a commit, or undefined when it names none. */
export async function resolveCommit(
  git: SimpleGit,
  ref: string,
): Promise<ResolvedCommit | undefined> {
  let commit: string;
  try {
    commit = (
      await git.raw(["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`])
    ).trim();
  } catch {
    return undefined;
  }
  if (!/^[0-9a-f]{40,64}$/.test(commit)) return undefined;
  const out = await git.raw(["show", "-s", "--format=%T%x00%ct%x00%s", commit, "--"]);
  const [tree, time, subject] = out.replace(/\n$/, "").split("\0");
  return { commit, tree, time: Number(time), subject };
}

/** True when `commit` is reachable from the local branch `branch`; undefined if no such branch. */
export async function reachableFrom(
  git: SimpleGit,
  commit: string,
  branch: string,
): Promise<boolean | undefined> {
  const tip = await resolveCommit(git, `refs/heads/${branch}`);
  if (!tip) return undefined;
  const base = (await git.raw(["merge-base", commit, tip.commit])).trim();
  return base === commit;
}

/** Tracked files with staged or unstaged changes; untracked files never reach the artifact. */
export async function dirtyTrackedFiles(git: SimpleGit): Promise<string[]> {
  const status = await git.status(["--untracked-files=no"]);
  return status.files.map((f) => f.path).sort();
}

export async function upstreamStatus(
  git: SimpleGit,
  branch: string,
): Promise<UpstreamStatus | undefined> {
  let upstream: string;
  try {
    upstream = (
      await git.raw([
        "rev-parse",
        "--abbrev-ref",
        "--symbolic-full-name",
        // git reads "<branch>@{upstream}" only with the short branch name.
        `${branch}@{upstream}`,
      ])
    ).trim();
  } catch {
    return undefined;
  }
  if (upstream === "") return undefined;
  const counts = (
    await git.raw(["rev-list", "--left-right", "--count", `refs/heads/${branch}...${upstream}`])
  ).trim();
  const [ahead, behind] = counts.split(/\s+/).map(Number);
  return { upstream, ahead, behind };
}

export async function diffNameStatus(
  git: SimpleGit,
  base: string,
  target: string,
): Promise<NameStatus[]> {
  const out = await git.raw([
    "diff",
    "--name-status",
    "-z",
    "-M",
    "--no-ext-diff",
    base,
    target,
    "--",
  ]);
  return parseNameStatus(out);
}

/** Parses `git diff --name-status -z` output. Exported for testing. */
export function parseNameStatus(z: string): NameStatus[] {
  const fields = z.split("\0");
  const out: NameStatus[] = [];
  for (let i = 0; i + 1 < fields.length;) {
    const code = fields[i++];
    const kind = code.charAt(0) as NameStatus["status"];
    if (kind === "R" || kind === "C") {
      out.push({ status: kind, from: fields[i], path: fields[i + 1] });
      i += 2;
    } else {
      out.push({ status: kind, path: fields[i++] });
    }
  }
  return out;
}

/**
 * The source as the provenance names it: the remote `origin` (or the first remote) as a
 * `git+` URI, else the repository's path as `git+file://`. Credentials in a URL are dropped:
 * the provenance is published. Exported for testing.
 */
export async function sourceUri(git: SimpleGit, repo: string): Promise<string> {
  const remotes = (await git.raw(["remote"]).catch(() => "")).split("\n").filter((r) => r !== "");
  const name = remotes.includes("origin") ? "origin" : remotes[0];
  const url =
    name === undefined
      ? ""
      : (await git.raw(["remote", "get-url", "--", name]).catch(() => "")).trim();
  return url === "" ? `git+file://${repo}` : `git+${withoutCredentials(url)}`;
}

/** A URL without its user-info password or token; scp-like `user@host:path` is left as is. */
export function withoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, "$1");
}
