import * as pulumi from "@pulumi/pulumi";
import { Endpoint, ShellCommand, shellCommand } from "../deploy/commands";
import { BLOCKED_EXIT, script } from "./sh";

/** One named part of a host's deploy: a whole script of its own. */
export interface Step {
  name: string;
  script: string;
  /** Run when this step refuses (exits 3), before the transaction ends with that status. */
  onRefusal?: string;
}

const MARK = "step=";

/**
 * Joins steps into one script, each in its own subshell so that its `exit 0` ends only that
 * step, while a refusal (exit 3) or any failure ends the whole run there, with that status.
 * Each step's output starts with a `step=<name>` line. A subshell is never run as the left
 * side of `||`, where sh would ignore the `set -e` inside it.
 */
export function transactionScript(steps: readonly Step[]): string {
  steps.forEach((s, i) => checkName(s.name, steps.slice(0, i)));
  return script(
    ...steps.flatMap((s) => [
      `echo ${MARK}${s.name}`,
      "set +e",
      "(",
      s.script.trimEnd(),
      ")",
      "st=$?",
      "set -e",
      s.onRefusal === undefined
        ? '[ "$st" -eq 0 ] || exit "$st"'
        : `if [ "$st" -ne 0 ]; then [ "$st" -ne ${BLOCKED_EXIT} ] || (\n${s.onRefusal.trimEnd()}\n) || true; exit "$st"; fi`,
    ]),
  );
}

/** Refuses a step name that is not [a-z][a-z0-9-]* or that `earlier` already has. */
function checkName(name: string, earlier: readonly Step[]): void {
  if (!/^[a-z][a-z0-9-]*$/.test(name))
    throw new Error(`step name ${JSON.stringify(name)} is not [a-z][a-z0-9-]*`);
  if (earlier.some((s) => s.name === name)) throw new Error(`step ${name} appears twice`);
}

/** Each step's part of a transaction's output, by step name; steps that never ran are absent. */
export function splitSteps(stdout: string): Record<string, string> {
  const out: Record<string, string[]> = {};
  let current: string[] | undefined;
  for (const line of stdout.split("\n")) {
    if (line.startsWith(MARK)) out[line.slice(MARK.length)] = current = [];
    else current?.push(line);
  }
  return Object.fromEntries(
    Object.entries(out).map(([k, v]) => [k, v.join("\n").replace(/\n$/, "")]),
  );
}

/**
 * One host's deploy as a single remote command. Components add their steps in the order they
 * must run and get back their own part of the output; `run` then creates the command. A
 * deploy is thereby one SSH session under one lock: a rollback is one connection, and no
 * step can be left applied while the next one waits for a connection of its own.
 */
export class HostTransaction {
  private readonly steps: Step[] = [];
  private readonly destroySteps: Step[] = [];
  private readonly stdout: pulumi.Output<string>;
  private readonly resolve: (source: pulumi.Output<string>) => void;
  private readonly notes: string[] = [];
  private onRefusal?: string;
  private command?: ShellCommand;

  constructor(readonly endpoint: Endpoint) {
    [this.stdout, this.resolve] = pulumi.deferredOutput<string>();
  }

  /** Adds a step; `onDestroy`, when given, runs at `pulumi destroy`. Returns the step's output. */
  add(name: string, stepScript: string, onDestroy?: string): pulumi.Output<string> {
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
    const text = [...this.notes, transactionScript(this.steps)].join("\n");
    this.command = shellCommand(name, this.endpoint, text, opts, onDestroy);
    this.resolve(this.command.stdout);
    return this.command;
  }
}
