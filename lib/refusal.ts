import * as pulumi from "@pulumi/pulumi";

/**
 * A refusal that pulumi preview and up print as its message alone: a RunError, whose stack the
 * CLI never shows. Its stack holds no frames either. The SDK passes every uncaught error to
 * util.inspect, and Node 20.20's util.inspect loops until it runs out of string length on a
 * frame whose file sits directly in a scoped package folder (node_modules/@pulumi/resource.ts,
 * as the SDK's source maps name its own frames): a refusal then took 17 s to print. See
 * https://github.com/nodejs/node/issues/64011, fixed by nodejs/node#64022.
 */
export class Refusal extends pulumi.RunError {
  constructor(message: string) {
    super(message);
    this.stack = message;
  }
}
