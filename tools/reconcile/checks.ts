import * as g from "../../gates/git";
import { GateFailure } from "../../gates/gate";
import { GateRun } from "../../gates/gateRun";
import { leavesRelease } from "../../gates/artifact/build";
import { escapedName } from "../../gates/artifact/manifest";
import { fetchFilesScript, ServerTree, unpackFiles } from "../../remote/serverTree";
import { Runner } from "../../survey/runner";
import { sha256Hex as sha256, short } from "../../lib/hash";
import { ReconciledFile } from "./diff";
import { executables } from "./repo";

/** How a reconcile refusal says what it left: it only ever reads the server. */
export const NOTHING = "the server was only read and the SSOT repo was not changed";

/** The base commit: the release's own, else baseRef, else the live release's. */
export async function resolveBase(
  run: GateRun,
  repoDir: string,
  tree: ServerTree,
  baseRef: string | undefined,
  stack: string,
  hostName: string,
): Promise<{ commit: string; source: string; exec: Set<string> }> {
  const candidates: [string | undefined, string][] = [
    [
      tree.releaseCommit ?? (tree.release ? tree.release.split("-")[0] : undefined),
      `release ${tree.release}`,
    ],
    [baseRef || undefined, "baseRef"],
    [tree.liveCommit, `the live release ${tree.live}`],
  ];
  const [ref, source] = candidates.find(([r]) => r !== undefined) ?? [undefined, ""];
  if (ref === undefined) run.block("G1", noBase(tree, stack, hostName));
  const found = await g.resolveCommit(g.openRepo(repoDir), ref);
  if (!found)
    run.block("G1", {
      gap: `the base commit ${ref} (from ${source}) is not in the SSOT repo; ${NOTHING}`,
      next: "fetch it into the repo (git fetch), then run again",
    });
  return { commit: found.commit, source, exec: await executables(repoDir, found.commit) };
}

/**
 * The deploy's own rule for links, applied before anything is committed: G4 refuses a commit
 * holding a symlink that leaves the release, and the release's link list cannot carry a tab or
 * a newline. Exported for testing.
 */
export function linkRefusal(
  changes: readonly ReconciledFile[],
  where: string,
): GateFailure | undefined {
  for (const c of changes) {
    if (c.mode !== "120000") continue;
    const target = c.linkTarget!;
    if (/[\t\n]/.test(c.path + target))
      return {
        gap: `${where}/${escapedName(c.path)} is a symlink whose name or target holds a tab or a newline, which a release cannot carry; ${NOTHING}`,
        next: "rename it on the server (or replace it with the file itself), then run again",
      };
    if (leavesRelease(c.path, target))
      return {
        gap: `${where}/${escapedName(c.path)} is a symlink to ${JSON.stringify(target)}, which points outside the release; the deploy would refuse that commit at G4; ${NOTHING}`,
        next: "replace it on the server with the file it points at, or with a link inside the tree (or list the path in sharedFiles), then run again",
      };
  }
  return undefined;
}

function noBase(tree: ServerTree, stack: string, hostName: string): GateFailure {
  return {
    gap: `no base commit for ${hostName}:${tree.path}: it is not a release, nothing is live, and baseRef is not set; ${NOTHING}`,
    next: `pulumi config set --stack ${stack} baseRef <the commit the tree was copied from>, then run again`,
  };
}

/** Fetches the changed files in one round trip and checks each against the survey's hash. */
export async function fetchChanged(
  run: GateRun,
  runner: Runner,
  tree: ServerTree,
  changes: readonly ReconciledFile[],
  hostName: string,
): Promise<Map<string, Buffer>> {
  const wanted = changes
    .filter((c) => c.kind !== "deleted" && c.mode !== "120000")
    .map((c) => c.path);
  if (wanted.length === 0) return new Map();
  const r = await runner.run(fetchFilesScript(tree.path, wanted));
  if (r.code !== 0) throw new Error(`fetching the changed files failed: ${r.stderr.trim()}`);
  const files = await unpackFiles(r.stdout);
  const fetched = new Set(wanted);
  for (const c of changes) {
    if (!fetched.has(c.path)) continue;
    const got = files.get(c.path);
    if (got === undefined || sha256(got) !== c.sha256)
      run.block("G1", {
        gap: `${hostName}:${tree.path}/${c.path} changed while it was read (sha256 ${short(c.sha256 ?? "")} when hashed); ${NOTHING}`,
        next: "stop whatever writes to that tree, then run again",
      });
  }
  return files;
}
