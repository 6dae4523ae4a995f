import { DeployConfig } from "../config/deploy";
import { BuiltArtifact } from "../gates/artifact/build";
import { backupScript } from "../remote/backup";
import { beforeSwitchScript } from "../remote/beforeSwitch";
import { disableKillSwitchScript, killSwitchStepScript } from "../remote/killSwitch";
import { acquireLockScript, LockInfo, releaseLockScript } from "../remote/lock";
import { NOT_SWITCHED } from "../remote/preamble";
import { promoteScript } from "../remote/promote";
import { ProofArgs, proofScript, stagedProofScript } from "../remote/proof";
import { signatureScript } from "../remote/signature";
import { stageScript } from "../remote/stage";
import { refusalStateScript, Step, transactionScript } from "../remote/transaction";

/**
 * A host's deploy steps in the order they run, each under the title the README's numbered list
 * gives it, so that the order is written once: the transaction, the components that read each
 * step's output and the tests all take it from here. A refusal in a step marked `refusalUnlocks`
 * (after the lock is taken, up to the switch) left `current` where it was, so the lock goes back.
 */
export const DEPLOY_STEPS = [
  { name: "lock", title: "Lock", refusalUnlocks: false },
  { name: "backup", title: "Backup", refusalUnlocks: true },
  { name: "stage", title: "Release (stage)", refusalUnlocks: true },
  { name: "signature", title: "Signature", refusalUnlocks: true },
  { name: "killswitch", title: "KillSwitch", refusalUnlocks: true },
  { name: "before-switch", title: "BeforeSwitch", refusalUnlocks: true },
  { name: "staged-proof", title: "Staged probes", refusalUnlocks: true },
  { name: "promote", title: "Promote", refusalUnlocks: true },
  { name: "proof", title: "PostdeployProof", refusalUnlocks: false },
  { name: "unlock", title: "Unlock", refusalUnlocks: false },
] as const;

/** The name of a deploy step, as its part of the transaction's output is marked. */
export type StepName = (typeof DEPLOY_STEPS)[number]["name"];

/**
 * One step of a host's deploy; `onDestroy`, when set, is its part of `pulumi destroy`.
 * "prepared" is the mark a prepare phase ends with (see deploy/fleetSteps.ts).
 */
export interface HostStep extends Step {
  name: StepName | "prepared";
  onDestroy?: string;
}

/** The deploy settings the steps' scripts read. */
export type StepSettings = Pick<
  DeployConfig,
  | "deployRoot"
  | "sharedFiles"
  | "keepReleases"
  | "keepBackups"
  | "killSwitch"
  | "proof"
  | "invariants"
  | "beforeSwitch"
  | "restartCommand"
  | "onLiveFailure"
  | "breakStaleLock"
  | "staleLockSeconds"
  | "acceptDrift"
>;

export interface HostStepsArgs {
  /** The stack's validated deploy settings. */
  deploy: StepSettings;
  /** The release: its id, commit and sha256, and whether it is kept on the servers already. */
  artifact: Pick<BuiltArtifact, "releaseId" | "commit" | "sha256" | "kept"> &
    Partial<Pick<BuiltArtifact, "manifestSha256" | "linksSha256" | "entriesSha256">>;
  /** The artifact's sha256sum manifest; undefined for a kept release, staged with its own. */
  manifest?: string;
  /** The artifact's symlinks, "path TAB target" per line; undefined with `manifest`. */
  links?: string;
  /** The artifact's entries list; undefined with `manifest`. */
  entries?: string;
  /** The release's signed evidence, kept beside it where it is uploaded. */
  evidence?: string;
  /** Who deploys, for the lock and the revisions log; the token makes the lock re-entrant. */
  lock: LockInfo;
  /** The artifact's extra excludes, which verification ignores on the server. */
  exclude: readonly string[];
  /** Each invariant's output before the deploy; undefined when nothing was live. */
  invariantsBefore: readonly (string | undefined)[];
  /** Whether the live tree's drift is already in the commit being deployed. */
  driftReconciled: boolean;
  /** The command a missing or corrupted upload names, which uploads it again. */
  reupload: string;
  /**
   * The keys this host's server requires the release's provenance to be signed by, and where
   * config sets them; with none, the Signature step is left out.
   */
  trustedKeys?: { keys: readonly string[]; configPath: string };
}

/**
 * A kept release's digests as its signed evidence names them (the gates took them from it),
 * for the stage step to check again under the lock; undefined for a release built now.
 */
function signedDigests(a: HostStepsArgs["artifact"]) {
  const { manifestSha256, linksSha256, entriesSha256 } = a;
  return a.kept && manifestSha256 && linksSha256 && entriesSha256
    ? { manifestSha256, linksSha256, entriesSha256 }
    : undefined;
}

/**
 * Every step of one host's deploy, in DEPLOY_STEPS' order: what HostDeployment runs as its one
 * transaction. BeforeSwitch is left out when no command is declared, Signature when the host
 * trusts no key. Exported for testing too:
 * the step-level tests run exactly this sequence.
 */
export function hostSteps(a: HostStepsArgs): HostStep[] {
  const d = a.deploy;
  const root = d.deployRoot;
  const { releaseId } = a.artifact;
  const lockToken = a.lock.token;
  // Drift the commit already holds is replaced like accepted drift: archived first.
  const acceptDrift = d.acceptDrift || a.driftReconciled;
  const unlock = releaseLockScript(root, lockToken, releaseId);
  const proof: ProofArgs = {
    root,
    releaseId,
    killSwitch: d.killSwitch,
    probes: d.proof,
    invariants: d.invariants.map((v, i) => ({ ...v, before: a.invariantsBefore[i] })),
    restartCommand: d.restartCommand,
    exclude: a.exclude,
    onFailure: {
      onLiveFailure: d.onLiveFailure,
      lockToken,
      who: a.lock.holder,
      host: a.lock.host,
    },
  };
  const scripts: Record<StepName, Omit<HostStep, "name"> | undefined> = {
    lock: { script: acquireLockScript(root, a.lock, d.breakStaleLock, d.staleLockSeconds) },
    backup: {
      script: backupScript({
        root,
        releaseId,
        keep: d.keepBackups,
        lockToken,
        acceptDrift,
        exclude: a.exclude,
      }),
    },
    stage: {
      script: stageScript({
        root,
        releaseId,
        sha256: a.artifact.sha256,
        manifest: a.manifest,
        links: a.links,
        entries: a.entries,
        signed: signedDigests(a.artifact),
        // Written beside the release only where it is missing: the same text every run.
        evidence: a.artifact.kept ? undefined : a.evidence,
        sharedFiles: d.sharedFiles,
        lockToken,
        exclude: a.exclude,
        acceptDrift,
        reupload: a.reupload,
      }),
    },
    signature:
      (a.trustedKeys?.keys.length ?? 0) === 0
        ? undefined
        : {
            script: signatureScript({
              root,
              releaseId,
              trustedKeys: a.trustedKeys!.keys,
              configPath: a.trustedKeys!.configPath,
              lockToken,
              missingUpload: a.artifact.kept
                ? `roll back by ref instead, which builds and uploads it again: pulumi config set release '' && pulumi config set ref ${a.artifact.commit} && pulumi up`
                : `upload it again: ${a.reupload}`,
            }),
          },
    killswitch: {
      script: killSwitchStepScript(
        root,
        releaseId,
        d.killSwitch,
        `${NOT_SWITCHED}; make $SHARED a writable directory on the server, then run pulumi up again`,
      ),
      onDestroy: disableKillSwitchScript(root, d.killSwitch),
    },
    "before-switch":
      d.beforeSwitch.length === 0
        ? undefined
        : {
            script: beforeSwitchScript({
              root,
              releaseId,
              commands: d.beforeSwitch,
              exclude: a.exclude,
            }),
          },
    "staged-proof": { script: stagedProofScript(proof) },
    promote: {
      script: promoteScript({
        root,
        releaseId,
        commit: a.artifact.commit,
        sha256: a.artifact.sha256,
        who: a.lock.holder,
        host: a.lock.host,
        keepReleases: d.keepReleases,
        lockToken,
      }),
    },
    proof: { script: proofScript(proof) },
    unlock: { script: unlock },
  };
  // Until the switch, a refusal leaves the live release as it was: the lock goes back with it,
  // and what the server holds then is printed. After it a failure keeps the lock, so that
  // nothing starts on top of a failed deploy, unless the proof step reverted to the verified
  // release before it, which gives the lock back itself.
  const onRefusal = `${unlock}\n${refusalStateScript(root, d.killSwitch.file)}`;
  return DEPLOY_STEPS.flatMap(({ name, refusalUnlocks }) => {
    const step = scripts[name];
    if (step === undefined) return [];
    return [{ name, ...step, ...(refusalUnlocks ? { onRefusal } : {}) }];
  });
}

/**
 * The deploy command's script: each finding of the survey as a comment (a changed finding is a
 * changed input, so the transaction runs even when no step changed), then the steps.
 */
export function deployScript(steps: readonly Step[], found: readonly string[]): string {
  const notes = found.map((f) => `# found at the survey: ${f}`.replace(/[\r\n]+/g, " "));
  return [...notes, transactionScript(steps)].join("\n");
}

/** What `pulumi destroy` runs on the host: each step's `onDestroy`, in order. */
export function destroyScript(steps: readonly HostStep[]): string {
  return transactionScript(
    steps.flatMap((s) =>
      s.onDestroy === undefined ? [] : [{ name: s.name, script: s.onDestroy }],
    ),
  );
}
