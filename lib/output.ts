import * as pulumi from "@pulumi/pulumi";

/**
 * The value of an Output, awaited at program time (a gate needs the SSH key, say). Secret
 * values stay unlogged: the caller holds them only to hand them to a connection.
 */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply(resolve));
}
