import * as pulumi from "@pulumi/pulumi";
import { Endpoint, shellCommand } from "./commands";
import { backupScript } from "./promoteScripts";
import { keyValues } from "./sh";

export interface BackupArgs {
  endpoint: Endpoint;
  root: string;
  /** The release about to go live; no backup is taken if it already is. */
  releaseId: string;
  /** Backups kept in backups/. */
  keep: number;
  lockToken: string;
  /** Resources that must finish first. */
  after?: pulumi.Resource[];
}

/** A timestamped (UTC) archive of the tree live now, with its sha256, taken before the switch. */
export class Backup extends pulumi.ComponentResource {
  public readonly archive: pulumi.Resource;
  /** Path of the archive on the target; "none" when nothing was live. */
  public readonly path: pulumi.Output<string>;
  public readonly sha256: pulumi.Output<string | undefined>;

  constructor(name: string, args: BackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ssot-deploy:backup:Backup", name, {}, opts);
    const cmd = shellCommand(
      `${name}-archive`,
      args.endpoint,
      backupScript(args.root, args.releaseId, args.keep, args.lockToken),
      { parent: this, dependsOn: args.after },
    );
    this.archive = cmd;
    this.path = cmd.stdout.apply((o) => keyValues(o).backup ?? "unknown");
    this.sha256 = cmd.stdout.apply((o) => keyValues(o).backup_sha256);
    this.registerOutputs({ path: this.path, sha256: this.sha256 });
  }
}
