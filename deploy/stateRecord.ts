import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

/**
 * One declared concern of a host (the release staged, what the backup preserves, where
 * `current` points, the kill-switch's value) as a resource of its own in the state tree, so
 * that `pulumi preview --diff` shows that concern changing by itself. It runs nothing: the
 * host's one transaction does the work, and this record depends on it, so it is only updated
 * once the transaction has achieved what it records. `pulumi stack history` keeps each value.
 */
export function stateRecord(
  name: string,
  values: Record<string, string>,
  opts: { parent: pulumi.Resource; after: pulumi.Input<pulumi.Resource> },
): pulumi.Resource {
  return new command.local.Command(
    name,
    { environment: values },
    { parent: opts.parent, dependsOn: opts.after },
  );
}
