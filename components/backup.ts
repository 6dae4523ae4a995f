import * as pulumi from "@pulumi/pulumi";
import { BackupResult } from "../remote/backup";
import { keyValues } from "../remote/sh";
import { HostTransaction } from "../deploy/hostTransaction";
import { stateRecord } from "../deploy/stateRecord";

export interface BackupArgs {
  /** The host's transaction, whose backup step this reads. */
  tx: HostTransaction;
  /** What a rollback goes back to once the release is live: what the backup keeps restorable. */
  rollbackTo: string;
}

/**
 * The backup step, before the switch: a timestamped (UTC) archive with its sha256 of a live
 * tree the SSOT cannot rebuild; a live release that still matches its manifest stays in
 * releases/ instead. The script comes from `hostSteps`; this reads what it kept, and records
 * what a rollback goes back to.
 */
export class Backup extends pulumi.ComponentResource {
  public readonly result: pulumi.Output<BackupResult>;

  constructor(name: string, args: BackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ssot-deploy:backup:Backup", name, {}, opts);
    const { tx, rollbackTo } = args;
    this.result = tx.part("backup").apply((o) => {
      const kv = keyValues(o);
      return {
        kind: kv.backup_kind ?? "unknown",
        path: kv.backup ?? "unknown",
        sha256: kv.backup_sha256,
      };
    });
    stateRecord(`${name}-keeps`, { ROLLBACK_TO: rollbackTo }, { parent: this, after: tx.ran });
    this.registerOutputs({ result: this.result });
  }
}
