import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { BuiltArtifact } from "../gates/artifact/build";
import { uploadFile, uploadType } from "../deploy/commands";

const RELEASE_TYPE = "ssot-deploy:release:Release";
import { uploadPaths } from "../remote/preamble";
import { stageScript } from "../remote/stage";
import { keyValues } from "../remote/sh";
import { HostTransaction } from "../deploy/hostTransaction";
import { stateRecord } from "../deploy/stateRecord";
import { valueOf } from "../lib/output";

export interface ReleaseArgs {
  /** The host's transaction, to which the stage step is added. */
  tx: HostTransaction;
  /** The layout's root on the target. */
  root: string;
  /** The artifact to upload and stage. */
  artifact: BuiltArtifact;
  /** The artifact's manifest; undefined for a kept release, which is only verified. */
  manifest?: string;
  /** The artifact's symlinks, "path TAB target" per line; undefined with `manifest`. */
  links?: string;
  /** The release's signed evidence, kept beside it when this deploy uploads it. */
  evidence?: string;
  /** Paths, relative to the release, linked into shared/ instead of shipped. */
  sharedFiles: readonly string[];
  /** This deploy's lock token: staging refuses without the lock. */
  lockToken: string;
  /** True when the survey found this release here already, staged or live, and verified. */
  onServer: boolean;
  /** The artifact's extra excludes, which verification ignores on the server. */
  exclude: readonly string[];
  /** Whether a staged or live copy of this release that drifted may be replaced. */
  acceptDrift: boolean;
  /** Resources the upload must wait for (the previous host, in a serial rollout). */
  after?: pulumi.Resource[];
}

/**
 * A release side by side under releases/: the artifact's upload (unless it is already
 * staged), then the stage step of the host's transaction, which verifies the upload and every
 * extracted file before the directory is renamed into place.
 */
export class Release extends pulumi.ComponentResource {
  /** The upload the transaction must wait for; empty when nothing is uploaded. */
  public readonly uploads: pulumi.Resource[];
  /** "new", "present" or "replaced-drifted". */
  public readonly staged: pulumi.Output<string>;

  constructor(name: string, args: ReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super(RELEASE_TYPE, name, {}, opts);
    const a = args.artifact;
    // The URN the engine gives the upload, which a refusal names for `pulumi up --replace`.
    // Taken as a plain value: an Output of this component would make the transaction depend on
    // every child of it, the record of the staged release among them, which waits for the
    // transaction.
    const upload = pulumi.output(
      valueOf(pulumi.createUrn(`${name}-upload`, uploadType(args.tx.endpoint), this)),
    );
    // A kept release (a rollback by `release`) is never uploaded: it is on the servers already,
    // and may have no artifact here. Any other release has its upload resource; one found on
    // the server already (staged or live) keeps whatever inputs the state holds, so nothing is
    // copied and going live changes nothing that the next run would change back.
    const copies = !a.kept && !args.onServer;
    if (copies)
      void pulumi.log.info(
        `uploads ${path.basename(a.path)}, ${(a.bytes / 1048576).toFixed(1)} MiB, to ${uploadPaths(args.root, a.releaseId).artifact}`,
        this,
      );
    this.uploads = a.kept
      ? []
      : [
          uploadFile(
            `${name}-upload`,
            args.tx.endpoint,
            a.path,
            uploadPaths(args.root, a.releaseId).artifact,
            { parent: this, dependsOn: args.after },
            args.onServer,
          ),
        ];
    const out = args.tx.add(
      "stage",
      upload.apply((urn) =>
        stageScript({
          root: args.root,
          releaseId: a.releaseId,
          sha256: a.sha256,
          manifest: args.manifest,
          links: args.links,
          // Written beside the release only where it is missing: the same text every run.
          evidence: a.kept ? undefined : args.evidence,
          sharedFiles: args.sharedFiles,
          lockToken: args.lockToken,
          exclude: args.exclude,
          acceptDrift: args.acceptDrift,
          reupload: `pulumi up --replace '${urn}'`,
        }),
      ),
    );
    this.staged = out.apply((o) => keyValues(o).staged ?? "unknown");
    stateRecord(
      `${name}-staged`,
      { RELEASE: a.releaseId, ARTIFACT_SHA256: a.sha256 },
      { parent: this, after: args.tx.ran },
    );
    this.registerOutputs({ staged: this.staged });
  }
}
