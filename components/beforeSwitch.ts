import * as pulumi from "@pulumi/pulumi";
import { BeforeSwitchCommand } from "../config/deploy";
import { BeforeSwitchResult, parseBeforeSwitch } from "../remote/beforeSwitch";
import { HostTransaction } from "../deploy/hostTransaction";

export interface BeforeSwitchArgs {
  /** The host's transaction, whose before-switch step this reads. */
  tx: HostTransaction;
  /** The commands declared, in the order they run; none means the step is left out. */
  commands: readonly BeforeSwitchCommand[];
}

/**
 * The commands that prepare a staged release before it goes live (a virtualenv, compiled
 * assets), run inside it under the lock by the step `hostSteps` adds when any is declared. A
 * failure refuses the deploy with `current` where it was; see `beforeSwitchScript`.
 */
export class BeforeSwitch extends pulumi.ComponentResource {
  public readonly result: pulumi.Output<BeforeSwitchResult>;

  constructor(name: string, args: BeforeSwitchArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ssot-deploy:beforeSwitch:BeforeSwitch", name, {}, opts);
    const { tx, commands } = args;
    this.result =
      commands.length === 0
        ? pulumi.output<BeforeSwitchResult>({ prepared: "none", commands: [] })
        : tx.part("before-switch").apply((o) => parseBeforeSwitch(o, commands));
    this.registerOutputs({ result: this.result });
  }
}
