import * as pulumi from "@pulumi/pulumi";
import { ArtifactSummary, BuiltArtifact } from "../gates/artifact/build";

export interface ArtifactArgs {
  /** The artifact that gates G0–G4 built and passed; the component only records it. */
  build: BuiltArtifact;
}

/**
 * The release artifact in the stack's state. It is built on this machine at program time,
 * because every gate must hold, in preview as in up, before anything that touches a server
 * is registered; this component makes the result part of the declared state and its outputs.
 */
export class Artifact extends pulumi.ComponentResource {
  public readonly summary: pulumi.Output<ArtifactSummary>;

  constructor(name: string, args: ArtifactArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ssot-deploy:artifact:Artifact", name, {}, opts);
    if (!/^[0-9a-f]{40,64}$/.test(args.build.commit)) {
      throw new pulumi.ResourceError(
        `build.commit must be a full commit id, got "${args.build.commit}"`,
        this,
      );
    }
    const b = args.build;
    const summary: ArtifactSummary = {
      releaseId: b.releaseId,
      commit: b.commit,
      tree: b.tree,
      sha256: b.sha256,
      tarSha256: b.tarSha256,
      bytes: b.bytes,
      files: b.files,
      manifestSha256: b.manifestSha256,
      path: b.path,
      kept: b.kept === true,
    };
    this.summary = pulumi.output(summary);
    this.registerOutputs({ summary: this.summary });
  }
}
