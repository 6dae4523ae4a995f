import * as fs from "node:fs";
import * as path from "node:path";
import { findingsFailure } from "../../gates/changeSet";
import { RawConfig } from "../../config/keys";
import { GateRun } from "../../gates/gateRun";
import * as g from "../../gates/git";
import { parseManifest } from "../../gates/artifact/manifest";
import { diffTrees, expectDifferences, ReconciledFile, reconcileMessage } from "./diff";
import { commitOnNewBranch, shippedTree, writeChangeTree } from "./repo";
import { parseServerTree, serverTreeScript } from "../../remote/serverTree";
import { openRunner, Runner } from "../../survey/runner";
import { connectionFailure } from "../../survey/judge";
import { blockedLine } from "../../remote/sh";
import { testFailure } from "../../gates/testGate";
import { checkRepo, missingRepo } from "../../gates/precheck";
import { SshError } from "../../survey/ssh";
import { parseStackConfig } from "../../config/stack";
import { runTests } from "../../gates/testRun";
import { Finding, scanBuffer } from "../../gates/secretScan";
import { sha256Hex as sha256, short } from "../../lib/hash";
import { fetchChanged, linkRefusal, NOTHING, resolveBase } from "./checks";
import { firstTen } from "../../lib/text";

export interface ReconcileOptions {
  stack: string;
  /** The stack's config values, keys without the project prefix. */
  raw: RawConfig;
  /** The SSH key for target ssh (the stack's secret sshPrivateKey), and its passphrase. */
  privateKey?: string;
  passphrase?: string;
  /** The tree on the server; default: the live release, `<deployRoot>/current`. */
  from?: string;
  /** A sha256sum manifest, on this machine, of exactly the files expected to have changed. */
  expect?: string;
  /** Which of the stack's hosts; default the first. */
  host?: string;
  now?: Date;
}

export interface ReconcileResult {
  /** The new branch and its commit; undefined when the tree matches its base. */
  branch?: string;
  commit?: string;
  base: string;
  from: string;
  changes: ReconciledFile[];
  tests?: string;
  gates: GateRun["results"];
}

/** The UTC time as it appears in branch names: 20261124T101500Z. */
export function branchTime(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

/**
 * `npm run reconcile`: brings a tree changed on the server back into the SSOT repo as a tested
 * commit on a new branch, through gates G0 (repo and server), G1 (change set, expected
 * manifest, secret scan), G2 (clean working tree) and G3 (tests). It never writes to the
 * server, never pushes, never deploys, and never touches the checked-out branch's files.
 * Throws a BlockedError with the report when a gate blocks.
 */
export async function reconcile(o: ReconcileOptions): Promise<ReconcileResult> {
  const { source, deploy } = parseStackConfig(o.raw);
  let contacted = false;
  const run = new GateRun(["G0", "G1", "G2", "G3"], () =>
    contacted
      ? "The server was only read; the SSOT repo was not changed."
      : "No server was contacted; the SSOT repo was not changed.",
  );
  const repo = await checkRepo(run, source, (r, h) =>
    missingRepo(r, h, "reconcile", "npm run reconcile"),
  );
  const from = o.from ?? `${deploy.deployRoot}/current`;

  const hosts = deploy.target === "local" ? [undefined] : deploy.hosts;
  const index = o.host === undefined ? 0 : hosts.findIndex((h) => h?.name === o.host);
  if (index < 0)
    run.block("G0", {
      gap: `stack ${o.stack} has no host named ${o.host}; ${NOTHING}`,
      next: `name one of: ${deploy.hosts.map((h) => h.name).join(", ")}`,
    });
  const spec = hosts[index];
  const hostName = spec?.name ?? "local";
  let runner: Runner;
  contacted = true;
  try {
    runner = await openRunner(spec, o);
  } catch (e) {
    if (e instanceof SshError) run.block("G0", connectionFailure(hostName, index, e));
    throw e;
  }
  try {
    const surveyed = await runner.run(
      serverTreeScript(deploy.deployRoot, from, source.exclude, deploy.sharedFiles),
    );
    const refused = blockedLine(surveyed.stdout);
    if (refused !== undefined)
      run.block("G0", {
        gap: `server ${hostName}: ${refused}; ${NOTHING}`,
        next: `name the changed tree: npm run reconcile -- --stack ${o.stack} --from <path on ${hostName}>`,
      });
    if (surveyed.code !== 0) throw new Error(`the tree survey failed: ${surveyed.stderr.trim()}`);
    const tree = parseServerTree(surveyed.stdout);
    const what = tree.release ? `release ${tree.release}` : "not a release";
    run.pass(
      "G0",
      `repo ${source.repo}; server ${hostName} (${runner.where}): ${tree.path} (${what}), ${tree.files.size} files`,
    );

    const base = await resolveBase(run, source.repo, tree, source.baseRef, o.stack, hostName);
    const changes = diffTrees(
      tree,
      await shippedTree(source.repo, base.commit, [
        ...source.exclude,
        ...deploy.sharedFiles.map((f) => `/${f}`),
      ]),
      sha256,
      (p) => base.exec.has(p),
    );
    const link = linkRefusal(changes, `${hostName}:${tree.path}`);
    if (link) run.block("G1", link);
    if (o.expect !== undefined) {
      const expected = new Map(
        parseManifest(fs.readFileSync(o.expect, "utf8")).map((e) => [e.path, e.sha256]),
      );
      const diffs = expectDifferences(changes, expected);
      if (diffs.length > 0)
        run.block("G1", {
          gap: `the change set at ${hostName}:${tree.path} is not the one ${o.expect} describes: ${diffs.join("; ")}; ${NOTHING}`,
          next: "find out which tree holds the verified change set, then run again with --from <that tree>, or correct the manifest",
        });
    }
    const content = await fetchChanged(run, runner, tree, changes, hostName);
    const findings: Finding[] = [];
    let scanned = 0;
    for (const [p, buf] of content) {
      const s = await scanBuffer(p, buf);
      if (!s.skipped) scanned++;
      findings.push(...s.findings);
    }
    if (findings.length > 0) {
      const f = findingsFailure(findings);
      run.block("G1", {
        gap: `${f.gap}; ${NOTHING}`,
        next: `remove the secret from ${hostName}:${tree.path} (secrets belong in shared/ or a secret store), then run again`,
      });
    }
    const n = (k: ReconciledFile["kind"]) => changes.filter((c) => c.kind === k).length;
    run.pass(
      "G1",
      `base ${short(base.commit)} (${base.source}) -> ${hostName}:${tree.path}: ${n("modified")} modified, ${n("added")} added, ${n("deleted")} deleted; ` +
        `${scanned} scanned, 0 secret findings${o.expect ? `; exactly as ${o.expect} expects` : ""}`,
    );
    if (changes.length === 0)
      return { base: base.commit, from: tree.path, changes, gates: run.results };

    const dirty = await g.dirtyTrackedFiles(repo);
    if (dirty.length > 0)
      run.block("G2", {
        gap: `${dirty.length} tracked file(s) in ${source.repo} have uncommitted changes: ${firstTen(dirty)}; ${NOTHING}`,
        next: "commit or stash them (git stash), then run again",
      });
    const branch = `reconcile/${o.stack}-${branchTime(o.now ?? new Date())}`;
    if (await g.resolveCommit(repo, `refs/heads/${branch}`))
      run.block("G2", {
        gap: `branch ${branch} already exists; ${NOTHING}`,
        next: "run again in a second",
      });
    const treeId = await writeChangeTree(source.repo, base.commit, changes, (p) => content.get(p)!);
    run.pass(
      "G2",
      `tracked files clean; tree ${short(treeId)} built on ${short(base.commit)} without touching the working tree`,
    );

    const r = await runTests({
      repo: source.repo,
      commit: treeId,
      tree: treeId,
      command: source.testCommand,
      timeoutSeconds: source.testTimeoutSeconds,
      cacheDir: path.join(source.workDir, "cache", "tests"),
    });
    const failed = testFailure(r, source);
    if (failed)
      run.block("G3", {
        gap: `the change set from ${hostName}:${tree.path} on ${short(base.commit)}: ${failed.gap}; ${NOTHING}`,
        next: "fix the change on the server (or in the staging tree) until the suite passes there, then run again",
      });
    const c = r.counts!;
    const tests = `${c.passed}/${c.total} passed, ${c.failed} failed, ${c.skipped} skipped (${c.format})`;
    run.pass("G3", tests);
    const message = reconcileMessage({
      stack: o.stack,
      host: hostName,
      from: tree.path,
      base: base.commit,
      changes,
      tests,
    });
    const commit = await commitOnNewBranch(source.repo, treeId, base.commit, message, branch);
    return {
      branch,
      commit,
      base: base.commit,
      from: tree.path,
      changes,
      tests,
      gates: run.results,
    };
  } finally {
    runner.close();
  }
}
