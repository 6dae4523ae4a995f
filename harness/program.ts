import * as pulumi from "@pulumi/pulumi";
import type { ArtifactSummary } from "../gates/artifact/build";
import type { AttestationBundle } from "../evidence/bundle";
import type { ChangeSet, GateResult } from "../gates/gate";
import type { FinalResult } from "../evidence/report";
import type { HostSummary } from "../deploy/hostSummary";
import type { SourceResult } from "../gates/sequence";
import { CommandLifecycle } from "./lifecycle";

/** The stack outputs, resolved. */
export interface StackOutputs {
  artifact: ArtifactSummary;
  gates: GateResult[];
  tests: SourceResult["tests"];
  changeSet: ChangeSet;
  /** Per host; undefined in a preview, where nothing ran. */
  deploy?: Record<string, HostSummary>;
  /** "deployed" or "no change"; undefined in a preview. */
  result?: FinalResult;
  /** Undefined in a preview. */
  attestation?: AttestationBundle;
  /** The path of the run's report. */
  report: string;
}

/** A resource the program registered, as the mocks saw it. */
export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

export interface ProgramRun {
  outputs?: StackOutputs;
  error?: Error;
  resources: Registered[];
}

/** Resolves an output, nested outputs included, to a plain value; undefined if it is unknown. */
export async function resolve<T>(value: pulumi.Input<T>): Promise<pulumi.Unwrap<T> | undefined> {
  const o = pulumi.output(value) as pulumi.Output<pulumi.Unwrap<T>> & { isKnown: Promise<boolean> };
  if (!(await o.isKnown)) return undefined;
  return new Promise((r) => o.apply((v) => r(v)));
}

// Operation failures a run has already returned. The registrations that waited on the failed
// resource reject later (when the next run resets the mocks) with that same failure inside
// their message: the engine reports such a failure once, so these echoes are dropped. Any
// other unhandled rejection is thrown on.
const returned = new Set<string>();
let filtering = false;
function dropEchoes(): void {
  if (filtering) return;
  filtering = true;
  process.on("unhandledRejection", (reason) => {
    const message = reason instanceof Error ? reason.message : String(reason);
    if (/failed to register new resource/.test(message))
      for (const r of returned) if (message.includes(r)) return;
    throw reason;
  });
}

/**
 * Runs the program in-process under `pulumi.runtime.setMocks`, in preview or up mode, with
 * the given config (keys without the project prefix). Every registration is recorded; command
 * resources go through `lifecycle`, which really runs them in up mode and keeps state between
 * runs when the caller passes the same one. Any invoke fails the run: this program makes none.
 */
export async function runProgram(
  config: Record<string, string>,
  opts: { preview: boolean; stack?: string; lifecycle?: CommandLifecycle } = { preview: true },
): Promise<ProgramRun> {
  const resources: Registered[] = [];
  const record = (type: string, name: string, inputs: Record<string, unknown>) =>
    resources.push({ type, name, inputs });
  const lifecycle = opts.lifecycle ?? new CommandLifecycle();
  await pulumi.runtime.setMocks(
    lifecycle.mocks(opts.preview, record),
    "ssot-deploy",
    opts.stack ?? "test",
    opts.preview,
  );
  const prefixed: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) prefixed[`ssot-deploy:${k}`] = v;
  pulumi.runtime.setAllConfig(prefixed, [
    "ssot-deploy:sshPrivateKey",
    "ssot-deploy:sshPassphrase",
    "ssot-deploy:attestationKey",
  ]);

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const program = require("../index") as () => Promise<Record<string, unknown>>;
  try {
    const outputs = await program();
    const resolved: Record<string, unknown> = {};
    const resolveAll = (async () => {
      for (const [k, v] of Object.entries(outputs))
        resolved[k] = await resolve(v as pulumi.Input<unknown>);
    })();
    // A failed operation leaves the outputs that depend on it unresolved: fail as up would.
    await Promise.race([resolveAll, lifecycle.failure]);
    if (!opts.preview) await lifecycle.finish();
    return { outputs: resolved as unknown as StackOutputs, resources };
  } catch (error) {
    if (lifecycle.hasFailed) {
      dropEchoes();
      returned.add((error as Error).message);
    }
    return { error: error as Error, resources };
  } finally {
    if (lifecycle.hasFailed) {
      // As the engine does after a failure: operations under way finish, none starts, and the
      // registrations that wait on the failed resource never complete (setMocks resets them).
      await lifecycle.idle();
    } else {
      // Drain every registration still in flight, so none reaches the next run's mocks.
      await pulumi.runtime.disconnect();
      // Only now has every resource registered: the rest would be deleted.
      if (opts.preview) lifecycle.planDeletes();
    }
  }
}
