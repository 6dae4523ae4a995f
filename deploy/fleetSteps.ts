import { markPreparedScript, preparedGuard } from "../remote/transaction";
import { HostStep, hostSteps, HostStepsArgs, StepName } from "./hostSteps";

/**
 * Steps the switch phase spares when the prepare phase's mark still holds: what they did
 * (the backup, the before-switch commands, the staged probes) is still true while `current`
 * has not moved. The stage, Signature and kill-switch steps are checks of files, cheap, and
 * run again under the switch's lock, so nothing switches unverified.
 */
export const SPARED_BY_PREPARE: readonly (StepName | "prepared")[] = [
  "backup",
  "before-switch",
  "staged-proof",
];

/** The step a prepare phase ends with before it gives the lock back. */
export const PREPARED_STEP = "prepared";

/**
 * A host's prepare phase, for a rollout that switches several hosts together: every step of
 * `hostSteps` before the switch, each refusal giving the lock back as it does there, then the
 * mark of this preparation, then the lock back. It never moves `current`: whatever happens to
 * it, the host stays on the release it had.
 */
export function prepareSteps(a: HostStepsArgs): HostStep[] {
  const all = hostSteps(a);
  const switchAt = all.findIndex((s) => s.name === "promote");
  const unlock = all.find((s) => s.name === "unlock")!;
  const { onRefusal } = all[switchAt - 1];
  return [
    ...all.slice(0, switchAt),
    {
      name: PREPARED_STEP,
      script: markPreparedScript(a.deploy.deployRoot, a.artifact.releaseId, a.lock.token),
      onRefusal,
    },
    unlock,
  ];
}

/**
 * A host's switch phase, once every host of its batch is prepared: the whole of `hostSteps`
 * under the lock taken again, where the steps the prepare phase marked `nonce` did are spared
 * while that mark holds. Without a mark (a prepare that ran in an earlier up, then the host
 * changed) every step runs again, so the switch never rests on a check that no longer holds.
 */
export function switchSteps(a: HostStepsArgs, nonce: string | undefined): HostStep[] {
  return hostSteps(a).map((s) =>
    SPARED_BY_PREPARE.includes(s.name)
      ? {
          ...s,
          script: `${preparedGuard(a.deploy.deployRoot, a.artifact.releaseId, nonce)}\n${s.script}`,
        }
      : s,
  );
}
