import * as pulumi from "@pulumi/pulumi";
import { PromoteArgs as ScriptArgs, promoteScript } from "../remote/promote";
import { keyValues } from "../remote/sh";
import { HostTransaction } from "../deploy/hostTransaction";
import { stateRecord } from "../deploy/stateRecord";

export interface PromoteArgs extends ScriptArgs {
  /** The host's transaction, to which the switch step is added. */
  tx: HostTransaction;
}

/**
 * The switch step: `current` moves to the release atomically, under the lock, right after the
 * stage step verified it; the revisions log gets its entry; releases beyond keepReleases go.
 */
export class Promote extends pulumi.ComponentResource {
  /** "switched" or "unchanged". */
  public readonly result: pulumi.Output<string>;
  /** The release live before, or "" when there was none. */
  public readonly previous: pulumi.Output<string>;
  public readonly pruned: pulumi.Output<string[]>;
  /** sha256 of the revisions-log entry recording this release live; "" when the log has none. */
  public readonly revision: pulumi.Output<string>;

  constructor(name: string, args: PromoteArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ssot-deploy:promote:Promote", name, {}, opts);
    const { tx, ...script } = args;
    stateRecord(
      `${name}-current`,
      { CURRENT: `releases/${args.releaseId}`, COMMIT: args.commit },
      { parent: this, after: tx.ran },
    );
    const out = tx.add("promote", promoteScript(script));
    this.result = out.apply((o) => keyValues(o).promoted ?? "unknown");
    this.previous = out.apply((o) => keyValues(o).previous ?? "");
    this.pruned = out.apply((o) => [...o.matchAll(/^pruned=(.*)$/gm)].map((m) => m[1]));
    this.revision = out.apply((o) => keyValues(o).revision_sha256 ?? "");
    this.registerOutputs({
      result: this.result,
      previous: this.previous,
      pruned: this.pruned,
      revision: this.revision,
    });
  }
}
