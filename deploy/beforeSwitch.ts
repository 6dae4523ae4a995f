import * as pulumi from "@pulumi/pulumi";
import { BeforeSwitchArgs as ScriptArgs, beforeSwitchScript } from "../remote/beforeSwitch";
import { keyValues } from "../remote/sh";
import { HostTransaction } from "./hostTransaction";

export interface BeforeSwitchArgs extends ScriptArgs {
  /** The host's transaction, to which the step is added before the staged probes. */
  tx: HostTransaction;
}

/** What the beforeSwitch step did, for the report and the attestation. */
export interface BeforeSwitchResult {
  /** "now", "already" (a rollback to a release prepared before), or "none" (nothing to run). */
  prepared: "now" | "already" | "none";
  /** Each command that ran: its exit status and the last lines of its output. */
  commands: { name: string; exit: number; output: string }[];
}

/** Exported for testing: reads the step's output. */
export function parseBeforeSwitch(
  stdout: string,
  commands: ScriptArgs["commands"],
): BeforeSwitchResult {
  const kv = keyValues(stdout);
  if (commands.length === 0) return { prepared: "none", commands: [] };
  if (kv.before_switch === "already-prepared") return { prepared: "already", commands: [] };
  return {
    prepared: "now",
    commands: commands
      .map((c, i) => ({
        name: c.name,
        exit: Number(kv[`before_switch_${i}_exit`] ?? -1),
        output: Buffer.from(kv[`before_switch_${i}_b64`] ?? "", "base64").toString("utf8"),
      }))
      .filter((c) => c.exit !== -1),
  };
}

/**
 * The commands that prepare a staged release before it goes live (a virtualenv, compiled
 * assets), run inside it under the lock. A failure refuses the deploy with `current` where it
 * was; see `beforeSwitchScript`. With no command declared the step adds nothing.
 */
export class BeforeSwitch extends pulumi.ComponentResource {
  public readonly result: pulumi.Output<BeforeSwitchResult>;

  constructor(name: string, args: BeforeSwitchArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ssot-deploy:beforeSwitch:BeforeSwitch", name, {}, opts);
    const { tx, ...script } = args;
    this.result =
      script.commands.length === 0
        ? pulumi.output<BeforeSwitchResult>({ prepared: "none", commands: [] })
        : tx
            .add("before-switch", beforeSwitchScript(script))
            .apply((o) => parseBeforeSwitch(o, script.commands));
    this.registerOutputs({ result: this.result });
  }
}
