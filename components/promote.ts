import * as pulumi from "@pulumi/pulumi";
import { Endpoint, shellCommand } from "./commands";
import { PromoteArgs as ScriptArgs, promoteScript } from "./promoteScripts";
import { keyValues } from "./sh";

export interface PromoteArgs extends Omit<ScriptArgs, "root"> {
  endpoint: Endpoint;
  root: string;
  /** Resources that must finish first (the backup). */
  after?: pulumi.Resource[];
}

/**
 * Switches `current` to the release atomically, under the lock, after verifying the release
 * against its manifest; appends to the revisions log; prunes beyond keepReleases.
 */
export class Promote extends pulumi.ComponentResource {
  public readonly switch: pulumi.Resource;
  /** "switched" or "unchanged". */
  public readonly result: pulumi.Output<string>;
  /** The release live before, or "" when there was none. */
  public readonly previous: pulumi.Output<string>;
  public readonly pruned: pulumi.Output<string[]>;

  constructor(name: string, args: PromoteArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ssot-deploy:promote:Promote", name, {}, opts);
    const { endpoint, after, ...script } = args;
    const cmd = shellCommand(`${name}-switch`, endpoint, promoteScript(script), {
      parent: this,
      dependsOn: after,
    });
    this.switch = cmd;
    this.result = cmd.stdout.apply((o) => keyValues(o).promoted ?? "unknown");
    this.previous = cmd.stdout.apply((o) => keyValues(o).previous ?? "");
    this.pruned = cmd.stdout.apply((o) => [...o.matchAll(/^pruned=(.*)$/gm)].map((m) => m[1]));
    this.registerOutputs({ result: this.result, previous: this.previous, pruned: this.pruned });
  }
}
