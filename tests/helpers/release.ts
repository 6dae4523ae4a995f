import { generateKeyPairSync, KeyObject } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildArtifact, BuiltArtifact } from "../../gates/artifact/build";
import { parseSourceConfig } from "../../config/source";
import { resolveCommit, openRepo } from "../../gates/git";
import { uploadPaths } from "../../remote/preamble";
import { BeforeSwitchCommand, KillSwitchSpec, Probe } from "../../config/deploy";
import { LockInfo } from "../../remote/lock";
import { blockedLine, keyValues } from "../../remote/sh";
import { SshSession } from "../../survey/ssh";
import { splitSteps, transactionScript } from "../../remote/transaction";
import { HostStep, hostSteps, HostStepsArgs, StepName, StepSettings } from "../../deploy/hostSteps";
import { FixtureRepo, tempDir } from "./repo";
import { evidenceToKeep } from "../../evidence/kept";
import { releaseStatements } from "../../evidence/hostRecords";

/** A signing key for the tests, and its public key as config pins it (base64 SPKI DER). */
export function testSigner(): { privateKey: KeyObject; spki: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privateKey, spki: publicKey.export({ type: "spki", format: "der" }).toString("base64") };
}

/** A public key no test signs with, for a host that trusts some key. */
export const TRUSTED_SPKI = testSigner().spki;

/**
 * The evidence a signed deploy of `a` keeps beside it, made as the program makes it: the
 * provenance and test-result statements, each a DSSE envelope signed with `key`, one a line.
 */
export function evidenceOf(a: BuiltArtifact, key: KeyObject, sourceDir: string): string {
  const cfg = parseSourceConfig({ repo: sourceDir, testCommand: "true" });
  const run = {
    project: "ssot-deploy",
    stack: "test",
    invocationId: "i",
    startedOn: "2026-01-01T00:00:00Z",
    finishedOn: "2026-01-01T00:00:01Z",
    operator: "op@laptop",
    toolVersion: "0",
  };
  const tests = { command: "true", passed: 1, failed: 0, skipped: 0, total: 1, cached: false };
  const statements = releaseStatements(
    {
      build: a,
      source: cfg,
      sourceUri: `git+file://${sourceDir}`,
      tests,
      builtOn: run.finishedOn,
      changeSet: { scan: { scanned: 1, skipped: 0, findings: 0 } },
    },
    run,
  );
  return evidenceToKeep(path.join(sourceDir, "no-such-file"), statements, key, false);
}

/** The re-upload command the stage step names when the upload is missing or corrupt. */
export const REUPLOAD =
  "pulumi up --replace 'urn:pulumi:test::ssot-deploy::ssot-deploy:host:HostDeployment$ssot-deploy:release:Release$command:remote:CopyToRemote::web1-release-upload'";

/** The deploy source the script-level tests deploy as. */
export const OPERATOR: LockInfo = {
  token: "op@laptop:/work/deploy:contabo",
  holder: "op",
  host: "laptop",
  artifact: "",
};

/** Builds the artifact of `ref` in the fixture, as G4 would. */
export async function artifactOf(
  repo: FixtureRepo,
  ref: string,
  workDir: string,
): Promise<BuiltArtifact> {
  const cfg = parseSourceConfig({ repo: repo.dir, testCommand: "true", workDir });
  const commit = await resolveCommit(openRepo(repo.dir), ref);
  const built = await buildArtifact(cfg, commit!);
  if ("gap" in built) throw new Error(built.gap);
  return built;
}

/** Uploads an artifact where the stage script looks for it. */
export async function upload(ssh: SshSession, root: string, a: BuiltArtifact): Promise<void> {
  const up = uploadPaths(root, a.releaseId);
  const r = await ssh.exec(`mkdir -p '${path.dirname(up.artifact)}'`);
  if (r.code !== 0) throw new Error(r.stderr);
  await ssh.upload(a.path, up.artifact);
}

/** Every file under `dir` with its bytes or link target: a byte-for-byte picture of a tree. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    const abs = path.join(dir, rel);
    const st = fs.lstatSync(abs);
    if (st.isSymbolicLink()) out[rel] = `-> ${fs.readlinkSync(abs)}`;
    else if (st.isDirectory()) {
      out[`${rel}/`] = `mode ${(st.mode & 0o777).toString(8)}`;
      for (const e of fs.readdirSync(abs).sort()) walk(rel === "" ? e : `${rel}/${e}`);
    } else
      out[rel] = `mode ${(st.mode & 0o777).toString(8)} ${fs.readFileSync(abs).toString("base64")}`;
  };
  if (fs.existsSync(dir)) walk("");
  return out;
}

/** The manifest, symlink list and entries list the stage script needs, from the built artifact. */
export function manifestsOf(a: BuiltArtifact): {
  manifest: string;
  links: string;
  entries: string;
} {
  return {
    manifest: fs.readFileSync(a.manifestPath, "utf8"),
    links: fs.readFileSync(a.linksPath, "utf8"),
    entries: fs.readFileSync(a.entriesPath, "utf8"),
  };
}

/** What a rollback's stage step is given: the digests the release's signed evidence names. */
export function signedOf(a: BuiltArtifact) {
  return {
    manifestSha256: a.manifestSha256,
    linksSha256: a.linksSha256,
    entriesSha256: a.entriesSha256,
  };
}

export const KILL_SWITCH: KillSwitchSpec = {
  file: "kill-switch.json",
  key: "execution_enabled",
  format: "json",
  value: false,
};

export interface DeployOptions {
  sharedFiles?: string[];
  keepReleases?: number;
  keepBackups?: number;
  acceptDrift?: boolean;
  /** The post-deploy probes; none by default. */
  probes?: Probe[];
  /** The commands run in the staged release before the switch; none by default. */
  beforeSwitch?: BeforeSwitchCommand[];
  /** What a failed live probe leads to; "revert", the default, by default. */
  onLiveFailure?: "revert" | "keep";
  /** Run in the release after the switch; nothing by default. */
  restartCommand?: string;
  /** Runs the sequence only up to this step, as a deploy cut right after it; all by default. */
  stopAfter?: StepName;
  /** The signed evidence the stage step keeps beside the release; none (unsigned) by default. */
  evidence?: string;
  /** The keys the host trusts (base64 SPKI DER), as `hosts[0].trustedKeys`; none by default. */
  trustedKeys?: string[];
  /**
   * A rollback by `release`: the release is kept on the server already, nothing is uploaded,
   * and the stage step checks it against these digests (its signed evidence's) under the lock.
   */
  kept?: { manifestSha256: string; linksSha256: string; entriesSha256: string };
}

/** The deploy settings the script-level tests deploy with, under `root`. */
export function settings(root: string, o: DeployOptions = {}): StepSettings {
  return {
    deployRoot: root,
    sharedFiles: o.sharedFiles ?? [".env"],
    keepReleases: o.keepReleases ?? 3,
    keepBackups: o.keepBackups ?? 3,
    killSwitch: KILL_SWITCH,
    proof: o.probes ?? [],
    invariants: [],
    beforeSwitch: o.beforeSwitch ?? [],
    restartCommand: o.restartCommand,
    onLiveFailure: o.onLiveFailure ?? "revert",
    breakStaleLock: false,
    staleLockSeconds: 3600,
    acceptDrift: o.acceptDrift ?? false,
  };
}

/**
 * One host's deploy transaction as HostDeployment runs it: the production sequence
 * (`hostSteps`), so that a change to the order or to what a refusal runs reaches these tests.
 */
export function deploySteps(
  root: string,
  a: BuiltArtifact,
  info: LockInfo,
  o: DeployOptions = {},
): HostStep[] {
  return hostSteps(stepArgs(root, a, info, o));
}

/** What `deploySteps` gives `hostSteps`: for the phases of a host switching with others. */
export function stepArgs(
  root: string,
  a: BuiltArtifact,
  info: LockInfo,
  o: DeployOptions = {},
): HostStepsArgs {
  return {
    deploy: settings(root, o),
    artifact: o.kept ? { ...a, ...o.kept, kept: true } : a,
    ...(o.kept ? {} : manifestsOf(a)),
    lock: { ...info, artifact: a.sha256 },
    exclude: [],
    invariantsBefore: [],
    driftReconciled: false,
    reupload: REUPLOAD,
    evidence: o.evidence,
    trustedKeys: o.trustedKeys && { keys: o.trustedKeys, configPath: "hosts[0].trustedKeys" },
  };
}

/** Uploads the artifact and runs its deploy transaction: the exit code and each step's output. */
export async function deployOver(
  ssh: SshSession,
  root: string,
  a: BuiltArtifact,
  info: LockInfo,
  o: DeployOptions = {},
) {
  if (!o.kept) await upload(ssh, root, a);
  const all = deploySteps(root, a, info, o);
  const run = o.stopAfter ? all.slice(0, all.findIndex((s) => s.name === o.stopAfter) + 1) : all;
  const r = await ssh.exec("sh -s", Buffer.from(transactionScript(run)));
  const steps = splitSteps(r.stdout);
  const kv = Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, keyValues(v)]));
  return { code: r.code, steps: kv, blocked: blockedLine(r.stdout), stdout: r.stdout };
}

/**
 * The fixture repo's artifact, built once for a describe block (its hooks registered here),
 * and `uploaded()`: a fresh deploy root holding that artifact's upload, as a server has it
 * before the transaction.
 */
export function builtRelease(): { built: BuiltArtifact; uploaded: () => string } {
  let repo: FixtureRepo;
  let work: string;
  const held = {
    built: undefined as unknown as BuiltArtifact,
    uploaded: () => {
      const root = path.join(tempDir(), "app");
      const up = uploadPaths(root, held.built.releaseId).artifact;
      fs.mkdirSync(path.dirname(up), { recursive: true });
      fs.copyFileSync(held.built.path, up);
      return root;
    },
  };
  before(async () => {
    repo = FixtureRepo.create();
    work = tempDir();
    held.built = await artifactOf(repo, repo.head(), work);
  });
  after(() => {
    repo?.remove();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });
  return held;
}
