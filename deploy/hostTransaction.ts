import * as pulumi from "@pulumi/pulumi";
import { preparedNonce, REUSED, splitSteps } from "../remote/transaction";
import { Endpoint, ShellCommand, shellCommand } from "./commands";
import { SPARED_BY_PREPARE } from "./fleetSteps";
import { deployScript, destroyScript, HostStep, StepName } from "./hostSteps";

/** Steps a switch phase checks again, whose prepare-phase output says what was done. */
const CHECKED_AGAIN: readonly (StepName | "prepared")[] = ["stage", "signature", "killswitch"];

/**
 * A step's output when a host deployed in two phases: the switch phase's, unless it spared
 * the step or only checked it again, in which case the prepare phase's, which did the work.
 * With one phase, `prepare` is empty and the switch's output is the transaction's. Exported
 * for testing.
 */
export function phasePart(
  name: StepName,
  prepare: Record<string, string>,
  sw: Record<string, string>,
): string {
  const s = sw[name];
  if (SPARED_BY_PREPARE.includes(name) && s !== undefined && !s.startsWith(REUSED)) return s;
  if (SPARED_BY_PREPARE.includes(name) || CHECKED_AGAIN.includes(name))
    return prepare[name] ?? s ?? "";
  return s ?? "";
}

/**
 * One host's deploy as a single remote command, or, when several hosts switch together, as
 * two: a prepare phase (every step before the switch, then the lock back) and a switch phase.
 * Each component reads its own step's part of the output. A phase is one SSH session under one
 * lock: no step can be left applied while the next one waits for a connection of its own.
 */
export class HostTransaction {
  private readonly prepared: pulumi.Output<string>;
  private readonly switched: pulumi.Output<string>;
  private readonly resolvePrepared: (source: pulumi.Output<string>) => void;
  private readonly resolveSwitched: (source: pulumi.Output<string>) => void;
  private created = false;
  private ranResolve!: (c: ShellCommand) => void;
  /** The command that switches, once created: what the state records wait for. */
  readonly ran: Promise<pulumi.Resource>;

  constructor(readonly endpoint: Endpoint) {
    [this.prepared, this.resolvePrepared] = pulumi.deferredOutput<string>();
    [this.switched, this.resolveSwitched] = pulumi.deferredOutput<string>();
    this.ran = new Promise((r) => (this.ranResolve = r));
  }

  /** A step's part of the output; "" when the step never ran. */
  part(name: StepName): pulumi.Output<string> {
    return pulumi
      .all([this.prepared, this.switched])
      .apply(([p, s]) => phasePart(name, splitSteps(p), splitSteps(s)));
  }

  /**
   * Creates the one command that runs `steps` (an Output: the stage step names the upload's
   * URN), with the survey's findings `found` recorded in its script.
   */
  run(
    name: string,
    steps: pulumi.Output<HostStep[]>,
    found: readonly string[],
    opts: pulumi.CustomResourceOptions,
  ): ShellCommand {
    this.once(name);
    this.resolvePrepared(pulumi.output(""));
    return this.switchCommand(name, steps, found, opts);
  }

  /**
   * Creates the prepare phase's command now, and the switch phase's, which starts only after
   * every resource in `barrier` (each prepare of the batch, this one's among them) and is given
   * this preparation's mark. Returns the prepare phase's command.
   */
  runPhased(
    name: string,
    prepare: pulumi.Output<HostStep[]>,
    switchFor: (nonce: string | undefined) => pulumi.Output<HostStep[]>,
    found: readonly string[],
    opts: pulumi.CustomResourceOptions,
    barrier: Promise<pulumi.Resource[]>,
  ): { prepared: ShellCommand; switched: ShellCommand } {
    this.once(name);
    const prepared = shellCommand(
      `${name}-prepare`,
      this.endpoint,
      prepare.apply((s) => deployScript(s, found)),
      opts,
    );
    this.resolvePrepared(prepared.stdout);
    const steps = prepared.stdout.apply((o) => switchFor(preparedNonce(o)));
    const switched = this.switchCommand(name, steps, found, {
      parent: opts.parent,
      dependsOn: barrier,
    });
    return { prepared, switched };
  }

  private once(name: string): void {
    if (this.created) throw new Error(`the transaction ${name} was created twice`);
    this.created = true;
  }

  private switchCommand(
    name: string,
    steps: pulumi.Output<HostStep[]>,
    found: readonly string[],
    opts: pulumi.CustomResourceOptions,
  ): ShellCommand {
    const text = steps.apply((s) => deployScript(s, found));
    const command = shellCommand(name, this.endpoint, text, opts, steps.apply(destroyScript));
    this.resolveSwitched(command.stdout);
    this.ranResolve(command);
    return command;
  }
}
