import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { BuiltArtifact } from "../gates/artifact/build";
import { uploadFile, uploadType } from "../deploy/commands";
import { uploadPaths } from "../remote/preamble";
import { keyValues } from "../remote/sh";
import { parseSignature } from "../remote/signature";
import { HostTransaction } from "../deploy/hostTransaction";
import { stateRecord } from "../deploy/stateRecord";
import { valueOf } from "../lib/output";

const RELEASE_TYPE = "ssot-deploy:release:Release";

export interface ReleaseArgs {
  /** The host's transaction, whose stage step this reads. */
  tx: HostTransaction;
  /** The layout's root on the target. */
  root: string;
  /** The artifact to upload and stage. */
  artifact: BuiltArtifact;
  /** True when the survey found this release here already, staged or live, and verified. */
  onServer: boolean;
  /** Resources the upload must wait for (the batch before, in a rolling rollout). */
  after?: pulumi.Resource[];
}

/**
 * A release side by side under releases/: the artifact's upload (unless it is already
 * staged), then the stage step of the host's transaction (its script from `hostSteps`), which
 * verifies the upload and every extracted file before the directory is renamed into place.
 */
export class Release extends pulumi.ComponentResource {
  /** The upload the transaction must wait for; empty when nothing is uploaded. */
  public readonly uploads: pulumi.Resource[];
  /** The command that uploads the artifact again, which the stage step names when it refuses. */
  public readonly reupload: pulumi.Output<string>;
  /** "new", "present" or "replaced-drifted". */
  public readonly staged: pulumi.Output<string>;
  /** What the server's Signature step found, after the stage step: see `parseSignature`. */
  public readonly signature: pulumi.Output<string>;

  constructor(name: string, args: ReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super(RELEASE_TYPE, name, {}, opts);
    const a = args.artifact;
    // The URN the engine gives the upload, which a refusal names for `pulumi up --replace`.
    // Taken as a plain value: an Output of this component would make the transaction depend on
    // every child of it, the record of the staged release among them, which waits for the
    // transaction.
    this.reupload = pulumi
      .output(valueOf(pulumi.createUrn(`${name}-upload`, uploadType(args.tx.endpoint), this)))
      .apply((urn) => `pulumi up --replace '${urn}'`);
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
    this.staged = args.tx.part("stage").apply((o) => keyValues(o).staged ?? "unknown");
    this.signature = args.tx.part("signature").apply(parseSignature);
    stateRecord(
      `${name}-staged`,
      { RELEASE: a.releaseId, ARTIFACT_SHA256: a.sha256 },
      { parent: this, after: args.tx.ran },
    );
    this.registerOutputs({ staged: this.staged, signature: this.signature });
  }
}
