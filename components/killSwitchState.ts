import * as pulumi from "@pulumi/pulumi";
import { Endpoint, shellCommand } from "./commands";
import {
  disableKillSwitchScript,
  KillSwitchSpec,
  readKillSwitch,
  writeKillSwitchScript,
} from "./killSwitch";
import { keyValues } from "./sh";

export interface KillSwitchArgs {
  endpoint: Endpoint;
  root: string;
  /** The file, key, format and declared value (validated config: ON needs allowLiveExecution). */
  spec: KillSwitchSpec;
  /** Resources that must finish first (the staged release). */
  after?: pulumi.Resource[];
}

/**
 * The kill-switch file in shared/ as declared state: written atomically and read back on every
 * change. `pulumi destroy` writes it OFF; nothing here ever turns it ON unless declared.
 */
export class KillSwitch extends pulumi.ComponentResource {
  public readonly write: pulumi.Resource;
  public readonly declared: pulumi.Output<boolean>;
  /** What the file says after the write, read from the server; undefined if unreadable. */
  public readonly readBack: pulumi.Output<boolean | undefined>;

  constructor(name: string, args: KillSwitchArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ssot-deploy:killswitch:KillSwitch", name, {}, opts);
    const cmd = shellCommand(
      `${name}-write`,
      args.endpoint,
      writeKillSwitchScript(args.root, args.spec),
      { parent: this, dependsOn: args.after },
      disableKillSwitchScript(args.root, args.spec),
    );
    this.write = cmd;
    this.declared = pulumi.output(args.spec.value);
    this.readBack = cmd.stdout.apply((o) => {
      const b64 = keyValues(o).killswitch_b64;
      return readKillSwitch(
        b64 === undefined ? undefined : Buffer.from(b64, "base64").toString("utf8"),
        args.spec,
      );
    });
    this.registerOutputs({ declared: this.declared, readBack: this.readBack });
  }
}
