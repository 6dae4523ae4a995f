import * as pulumi from "@pulumi/pulumi";
import { checkName, splitSteps, Step, transactionScript } from "../remote/transaction";
import { Endpoint, ShellCommand, shellCommand } from "./commands";

/**
 * One host's deploy as a single remote command. Components add their steps in the order they
 * must run and get back their own part of the output; `run` then creates the command. A
 * deploy is thereby one SSH session under one lock: a rollback is one connection, and no
 * step can be left applied while the next one waits for a connection of its own.
 */
export class HostTransaction {
  private readonly steps: (Omit<Step, "script"> & { script: pulumi.Input<string> })[] = [];
  private readonly destroySteps: Step[] = [];
  private readonly stdout: pulumi.Output<string>;
  private readonly resolve: (source: pulumi.Output<string>) => void;
  private readonly notes: string[] = [];
  private onRefusal?: string;
  private command?: ShellCommand;
  private ranResolve!: (c: ShellCommand) => void;
  /** The transaction's command, once `run` has created it: what the state records wait for. */
  readonly ran: Promise<pulumi.Resource>;

  constructor(readonly endpoint: Endpoint) {
    [this.stdout, this.resolve] = pulumi.deferredOutput<string>();
    this.ran = new Promise((r) => (this.ranResolve = r));
  }

  /**
   * Adds a step; `onDestroy`, when given, runs at `pulumi destroy`. A script may be an Output (a
   * refusal that names a URN, say). Returns the step's part of the output.
   */
  add(name: string, stepScript: pulumi.Input<string>, onDestroy?: string): pulumi.Output<string> {
    if (this.command) throw new Error(`step ${name} was added after the transaction was created`);
    checkName(name, this.steps);
    this.steps.push({ name, script: stepScript, onRefusal: this.onRefusal });
    if (onDestroy !== undefined) this.destroySteps.push({ name, script: onDestroy });
    return this.stdout.apply((o) => splitSteps(o)[name] ?? "");
  }

  /**
   * Sets what runs when any step added from now on refuses (exit 3), or clears it: a refusal
   * before the switch changed nothing, so the lock can go back.
   */
  whenRefused(cleanup: string | undefined): void {
    this.onRefusal = cleanup;
  }

  /**
   * Records a fact about the server in the command's script (as a comment): a changed note is
   * a changed input, so the transaction runs even when no step changed.
   */
  note(text: string): void {
    this.notes.push(`# ${text.replace(/[\r\n]+/g, " ")}`);
  }

  /** Creates the command that runs every step added so far. */
  run(name: string, opts: pulumi.CustomResourceOptions): ShellCommand {
    if (this.command) throw new Error(`the transaction ${name} was created twice`);
    const onDestroy =
      this.destroySteps.length === 0 ? undefined : transactionScript(this.destroySteps);
    const text = pulumi
      .all(this.steps.map((s) => s.script))
      .apply((scripts) =>
        [
          ...this.notes,
          transactionScript(this.steps.map((s, i) => ({ ...s, script: scripts[i] }))),
        ].join("\n"),
      );
    this.command = shellCommand(name, this.endpoint, text, opts, onDestroy);
    this.resolve(this.command.stdout);
    this.ranResolve(this.command);
    return this.command;
  }
}
