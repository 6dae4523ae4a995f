import * as pulumi from "@pulumi/pulumi";
import { keyValues } from "../remote/sh";
import { HostTransaction } from "../deploy/hostTransaction";
import { stateRecord } from "../deploy/stateRecord";

export interface PromoteArgs {
  /** The host's transaction, whose promote step this reads. */
  tx: HostTransaction;
  /** The release `current` moves to. */
  releaseId: string;
  /** The commit it was built from, recorded with it. */
  commit: string;
}

/**
 * The switch step (its script from `hostSteps`): `current` moves to the release atomically,
 * under the lock, after every check that can run before it; the revisions log gets its entry;
 * releases beyond keepReleases go. This reads what it did and records where `current` points.
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
    const { tx } = args;
    stateRecord(
      `${name}-current`,
      { CURRENT: `releases/${args.releaseId}`, COMMIT: args.commit },
      { parent: this, after: tx.ran },
    );
    const out = tx.part("promote");
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
