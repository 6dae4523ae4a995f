import * as pulumi from "@pulumi/pulumi";
import { splitSteps } from "../remote/transaction";
import { Endpoint, ShellCommand, shellCommand } from "./commands";
import { deployScript, destroyScript, HostStep, StepName } from "./hostSteps";

/**
 * One host's deploy as a single remote command: `run` creates it from the steps `hostSteps`
 * orders, and each component reads its own step's part of the output. A deploy is thereby one
 * SSH session under one lock: a rollback is one connection, and no step can be left applied
 * while the next one waits for a connection of its own.
 */
export class HostTransaction {
  private readonly stdout: pulumi.Output<string>;
  private readonly resolve: (source: pulumi.Output<string>) => void;
  private command?: ShellCommand;
  private ranResolve!: (c: ShellCommand) => void;
  /** The transaction's command, once `run` has created it: what the state records wait for. */
  readonly ran: Promise<pulumi.Resource>;

  constructor(readonly endpoint: Endpoint) {
    [this.stdout, this.resolve] = pulumi.deferredOutput<string>();
    this.ran = new Promise((r) => (this.ranResolve = r));
  }

  /** A step's part of the output; "" when the step never ran. */
  part(name: StepName): pulumi.Output<string> {
    return this.stdout.apply((o) => splitSteps(o)[name] ?? "");
  }

  /**
   * Creates the command that runs `steps` (an Output: the stage step names the upload's URN),
   * with the survey's findings `found` recorded in its script.
   */
  run(
    name: string,
    steps: pulumi.Output<HostStep[]>,
    found: readonly string[],
    opts: pulumi.CustomResourceOptions,
  ): ShellCommand {
    if (this.command) throw new Error(`the transaction ${name} was created twice`);
    const text = steps.apply((s) => deployScript(s, found));
    this.command = shellCommand(name, this.endpoint, text, opts, steps.apply(destroyScript));
    this.resolve(this.command.stdout);
    this.ranResolve(this.command);
    return this.command;
  }
}
