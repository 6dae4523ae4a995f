import * as fs from "node:fs";
import * as path from "node:path";
import { buildArtifact, BuiltArtifact } from "../../gates/artifact/build";
import { parseSourceConfig } from "../../config/source";
import { resolveCommit, openRepo } from "../../gates/git";
import { NOT_SWITCHED, uploadPaths } from "../../remote/preamble";
import { killSwitchStepScript } from "../../remote/killSwitch";
import { KillSwitchSpec, Probe } from "../../config/deploy";
import { promoteScript } from "../../remote/promote";
import { backupScript } from "../../remote/backup";
import { proofScript, stagedProofScript } from "../../remote/proof";
import { stageScript } from "../../remote/stage";
import { acquireLockScript, LockInfo, releaseLockScript } from "../../remote/lock";
import { blockedLine, keyValues } from "../../remote/sh";
import { SshSession } from "../../survey/ssh";
import { splitSteps, Step, transactionScript } from "../../remote/transaction";
import { FixtureRepo } from "./repo";

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

/** The manifest and symlink list the stage script needs, read from the built artifact. */
export function manifestsOf(a: BuiltArtifact): { manifest: string; links: string } {
  return {
    manifest: fs.readFileSync(a.manifestPath, "utf8"),
    links: fs.readFileSync(a.linksPath, "utf8"),
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
}

/** One host's deploy transaction as HostDeployment orders it, built from the pure scripts. */
export function deploySteps(
  root: string,
  a: BuiltArtifact,
  info: LockInfo,
  o: DeployOptions = {},
): Step[] {
  const token = info.token;
  const acceptDrift = o.acceptDrift ?? false;
  const unlock = releaseLockScript(root, token, a.releaseId);
  const proof = { root, releaseId: a.releaseId, killSwitch: KILL_SWITCH, invariants: [] };
  const steps: Step[] = [
    { name: "lock", script: acquireLockScript(root, { ...info, artifact: a.sha256 }, false, 3600) },
    {
      name: "backup",
      script: backupScript({
        root,
        releaseId: a.releaseId,
        keep: o.keepBackups ?? 3,
        lockToken: token,
        acceptDrift,
      }),
    },
    {
      name: "stage",
      script: stageScript({
        root,
        ...manifestsOf(a),
        releaseId: a.releaseId,
        sha256: a.sha256,
        reupload: REUPLOAD,
        sharedFiles: o.sharedFiles ?? [".env"],
        lockToken: token,
        acceptDrift,
      }),
    },
    { name: "killswitch", script: killSwitchStepScript(root, KILL_SWITCH, NOT_SWITCHED) },
    {
      name: "staged-proof",
      script: stagedProofScript({ ...proof, probes: o.probes ?? [] }),
    },
    {
      name: "promote",
      script: promoteScript({
        root,
        releaseId: a.releaseId,
        commit: a.commit,
        sha256: a.sha256,
        who: info.holder,
        host: info.host,
        keepReleases: o.keepReleases ?? 3,
        lockToken: token,
      }),
    },
    { name: "proof", script: proofScript({ ...proof, probes: o.probes ?? [] }) },
    { name: "unlock", script: unlock },
  ];
  // A refusal before the switch gives the lock back.
  const guarded = ["backup", "stage", "killswitch", "staged-proof", "promote"];
  return steps.map((s) => (guarded.includes(s.name) ? { ...s, onRefusal: unlock } : s));
}

/** Uploads the artifact and runs its deploy transaction: the exit code and each step's output. */
export async function deployOver(
  ssh: SshSession,
  root: string,
  a: BuiltArtifact,
  info: LockInfo,
  o: DeployOptions = {},
) {
  await upload(ssh, root, a);
  const r = await ssh.exec("sh -s", Buffer.from(transactionScript(deploySteps(root, a, info, o))));
  const steps = splitSteps(r.stdout);
  const kv = Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, keyValues(v)]));
  return { code: r.code, steps: kv, blocked: blockedLine(r.stdout), stdout: r.stdout };
}
