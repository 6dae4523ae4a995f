import * as pulumi from "@pulumi/pulumi";
import {
  BeforeSwitchArgs as ScriptArgs,
  BeforeSwitchResult,
  beforeSwitchScript,
  parseBeforeSwitch,
} from "../remote/beforeSwitch";
import { HostTransaction } from "../deploy/hostTransaction";

export interface BeforeSwitchArgs extends ScriptArgs {
  /** The host's transaction, to which the step is added before the staged probes. */
  tx: HostTransaction;
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
