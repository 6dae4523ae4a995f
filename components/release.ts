import * as pulumi from "@pulumi/pulumi";
import { BuiltArtifact } from "./artifactBuild";
import { Endpoint, shellCommand, uploadFile } from "./commands";
import { uploadPaths } from "./layout";
import { stageScript } from "./releaseScripts";
import { keyValues } from "./sh";

export interface ReleaseArgs {
  endpoint: Endpoint;
  root: string;
  artifact: BuiltArtifact;
  /** The artifact's manifest and symlink list. */
  manifest: string;
  links: string;
  sharedFiles: readonly string[];
  lockToken: string;
  /** True when the survey found this release staged and verified: then nothing is uploaded. */
  alreadyStaged: boolean;
  /** The artifact's extra excludes, which verification ignores on the server. */
  exclude: readonly string[];
  /** Resources that must finish first (the lock). */
  after?: pulumi.Resource[];
}

/**
 * A release side by side under releases/: upload the artifact (unless it is already staged),
 * then stage it. The stage script verifies the upload and every extracted file before the
 * directory is renamed into place.
 */
export class Release extends pulumi.ComponentResource {
  public readonly stage: pulumi.Resource;
  /** "new" when staged now, "present" when it was already there. */
  public readonly staged: pulumi.Output<string>;

  constructor(name: string, args: ReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ssot-deploy:release:Release", name, {}, opts);
    const a = args.artifact;
    const upload = args.alreadyStaged
      ? []
      : [
          uploadFile(
            `${name}-upload`,
            args.endpoint,
            a.path,
            uploadPaths(args.root, a.releaseId).artifact,
            { parent: this, dependsOn: args.after },
          ),
        ];
    const script = stageScript({
      root: args.root,
      releaseId: a.releaseId,
      sha256: a.sha256,
      manifest: args.manifest,
      links: args.links,
      sharedFiles: args.sharedFiles,
      lockToken: args.lockToken,
      exclude: args.exclude,
    });
    const stage = shellCommand(`${name}-stage`, args.endpoint, script, {
      parent: this,
      dependsOn: [...(args.after ?? []), ...upload],
    });
    this.stage = stage;
    this.staged = stage.stdout.apply((o) => keyValues(o).staged ?? "unknown");
    this.registerOutputs({ staged: this.staged });
  }
}
