import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ReconciledFile } from "./diff";
import { buildTarball } from "../../gates/artifact/tarball";

interface GitOptions {
  input?: Buffer | string;
  env?: NodeJS.ProcessEnv;
}

/** Runs git in `repo`; plumbing only, so the working tree and the checked-out branch stay as they are. */
function git(repo: string, args: string[], o: GitOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "git",
      ["-C", repo, ...args],
      { env: { ...process.env, ...o.env }, maxBuffer: 256 * 1024 * 1024, encoding: "utf8" },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`git ${args[0]} failed: ${stderr.trim() || err.message}`))
          : resolve(stdout),
    );
    // A command that reads no input may exit before it is written: its own status decides.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(o.input);
  });
}

/** Paths of `commit` whose mode is executable. */
export async function executables(repo: string, commit: string): Promise<Set<string>> {
  const out = await git(repo, ["ls-tree", "-r", "-z", commit]);
  const exec = new Set<string>();
  for (const rec of out.split("\0")) {
    const tab = rec.indexOf("\t");
    if (rec.startsWith("100755 ")) exec.add(rec.slice(tab + 1));
  }
  return exec;
}

/**
 * The tree of `base` with the change set applied: blobs written into the object store and a
 * tree built in a throwaway index. Nothing else in the repository changes.
 */
export async function writeChangeTree(
  repo: string,
  base: string,
  changes: readonly ReconciledFile[],
  content: (path: string) => Buffer,
): Promise<string> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ssot-reconcile-index-"));
  const env = { GIT_INDEX_FILE: path.join(tmp, "index") };
  try {
    await git(repo, ["read-tree", base], { env });
    const records: string[] = [];
    for (const c of changes) {
      if (c.kind === "deleted") {
        records.push(`0 ${"0".repeat(40)}\t${c.path}\0`);
        continue;
      }
      const data = c.mode === "120000" ? Buffer.from(c.linkTarget!) : content(c.path);
      const blob = (await git(repo, ["hash-object", "-w", "--stdin"], { input: data })).trim();
      records.push(`${c.mode} ${blob}\t${c.path}\0`);
    }
    await git(repo, ["update-index", "-z", "--index-info"], { env, input: records.join("") });
    return (await git(repo, ["write-tree"], { env })).trim();
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** A commit of `tree` on top of `parent`, and a new branch at it; refuses an existing branch. */
export async function commitOnNewBranch(
  repo: string,
  tree: string,
  parent: string,
  message: string,
  branch: string,
): Promise<string> {
  const commit = (
    await git(repo, ["commit-tree", tree, "-p", parent, "-F", "-"], { input: message })
  ).trim();
  // The empty old value makes update-ref refuse a branch that already exists.
  await git(repo, ["update-ref", `refs/heads/${branch}`, commit, ""]);
  return commit;
}

/** What the base commit ships: the artifact's own manifest and links, built and thrown away. */
export async function shippedTree(repo: string, base: string, exclude: readonly string[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssot-reconcile-base-"));
  try {
    const t = await buildTarball({
      repo,
      commit: base,
      mtime: 0,
      exclude,
      outPath: path.join(dir, "b.tar.gz"),
    });
    return {
      files: new Map(t.manifest.map((m) => [m.path, m.sha256])),
      links: new Map(t.symlinks.map((l) => [l.path, l.target])),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
