import * as pulumi from "@pulumi/pulumi";
import {
  disableKillSwitchScript,
  killSwitchStepScript,
  readKillSwitch,
} from "../remote/killSwitch";
import { KillSwitchSpec } from "../config/deploy";
import { NOT_SWITCHED } from "../remote/preamble";
import { keyValues } from "../remote/sh";
import { HostTransaction } from "./hostTransaction";

export interface KillSwitchArgs {
  tx: HostTransaction;
  root: string;
  /** The file, key, format and declared value (validated config: ON needs allowLiveExecution). */
  spec: KillSwitchSpec;
}

/**
 * The kill-switch file in shared/ as declared state, a step before the switch: OFF is written
 * atomically and read back there; ON is only read there and written after the switch (see
 * `killSwitchStepScript`). A changed declaration is a changed transaction that runs.
 * `pulumi destroy` writes it OFF; nothing here ever turns it ON unless declared.
 */
export class KillSwitch extends pulumi.ComponentResource {
  public readonly declared: pulumi.Output<boolean>;
  /** What the file says after this step, read from the server; undefined if unreadable. */
  public readonly readBack: pulumi.Output<boolean | undefined>;

  constructor(name: string, args: KillSwitchArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ssot-deploy:killswitch:KillSwitch", name, {}, opts);
    const out = args.tx.add(
      "killswitch",
      killSwitchStepScript(
        args.root,
        args.spec,
        `${NOT_SWITCHED}; make $SHARED a writable directory on the server, then run pulumi up again`,
      ),
      disableKillSwitchScript(args.root, args.spec),
    );
    this.declared = pulumi.output(args.spec.value);
    this.readBack = out.apply((o) => {
      const b64 = keyValues(o).killswitch_b64;
      return readKillSwitch(
        b64 === undefined ? undefined : Buffer.from(b64, "base64").toString("utf8"),
        args.spec,
      );
    });
    this.registerOutputs({ declared: this.declared, readBack: this.readBack });
  }
}
