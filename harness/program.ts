import * as pulumi from "@pulumi/pulumi";
import type { ArtifactSummary } from "../components/artifact";
import type { ChangeSet } from "../components/changeSet";
import type { GateResult } from "../components/gates";
import type { SourceResult } from "../components/sourceGates";

/** The stack outputs, resolved. */
export interface StackOutputs {
  artifact: ArtifactSummary;
  gates: GateResult[];
  tests: SourceResult["tests"];
  changeSet: ChangeSet;
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

/** Resolves an output, including outputs nested in objects, to a plain value. */
export function resolve<T>(value: pulumi.Input<T>): Promise<pulumi.Unwrap<T>> {
  return new Promise((r) => pulumi.output(value).apply((v) => r(v)));
}

/**
 * Runs the program in-process under `pulumi.runtime.setMocks`, in preview or up mode, with
 * the given config (keys without the project prefix). Every registration is recorded, and
 * any invoke the program makes fails the run, since this program makes none.
 */
export async function runProgram(
  config: Record<string, string>,
  opts: { preview: boolean; stack?: string } = { preview: true },
): Promise<ProgramRun> {
  const resources: Registered[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        resources.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call(args) {
        throw new Error(`unexpected invoke ${args.token}`);
      },
    },
    "ssot-deploy",
    opts.stack ?? "test",
    opts.preview,
  );
  const prefixed: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) prefixed[`ssot-deploy:${k}`] = v;
  pulumi.runtime.setAllConfig(prefixed);

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const program = require("../index") as () => Promise<Record<string, unknown>>;
  try {
    const outputs = await program();
    return { outputs: (await resolve(outputs)) as unknown as StackOutputs, resources };
  } catch (error) {
    return { error: error as Error, resources };
  } finally {
    // Drain every registration still in flight, so none reaches the next run's mocks.
    await pulumi.runtime.disconnect();
  }
}
