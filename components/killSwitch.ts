import * as pulumi from "@pulumi/pulumi";
import { KillSwitchSpec } from "../config/deploy";
import { HostTransaction } from "../deploy/hostTransaction";
import { stateRecord } from "../deploy/stateRecord";

export interface KillSwitchArgs {
  /** The host's transaction, which the record of the declared value waits for. */
  tx: HostTransaction;
  /** The file, key, format and declared value (validated config: ON needs allowLiveExecution). */
  spec: KillSwitchSpec;
}

/**
 * The kill-switch file in shared/ as declared state. Its step (from `hostSteps`) runs before the
 * switch: OFF is written atomically and read back there; ON is only read there and written
 * after the switch (see `killSwitchStepScript`). A changed declaration is a changed transaction
 * that runs. `pulumi destroy` writes it OFF; nothing here ever turns it ON unless declared.
 */
export class KillSwitch extends pulumi.ComponentResource {
  constructor(name: string, args: KillSwitchArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ssot-deploy:killswitch:KillSwitch", name, {}, opts);
    stateRecord(
      `${name}-declared`,
      { FILE: `shared/${args.spec.file}`, VALUE: `${args.spec.key}=${args.spec.value}` },
      { parent: this, after: args.tx.ran },
    );
    this.registerOutputs({});
  }
}
