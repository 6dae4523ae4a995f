import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { q } from "../remote/sh";
import { localCopyScript } from "../remote/stage";

/** Where a host's commands run: over SSH with a pinned host key, or on this machine. */
export type Endpoint =
  { kind: "ssh"; connection: command.types.input.remote.ConnectionArgs } | { kind: "local" };

/** A command resource of either kind: both expose stdout. */
export type ShellCommand = command.remote.Command | command.local.Command;

/**
 * A command whose script is sent on stdin to `sh -s`: the command line the provider prints on
 * failure is then just "sh -s", and the script (which never holds a secret) sits in the state.
 * Any change to the script is an update, which runs `create` again: every script is idempotent.
 * `onDelete`, when set, runs at destroy; it is passed as `sh -c <script>`.
 */
export function shellCommand(
  name: string,
  endpoint: Endpoint,
  script: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
  onDelete?: pulumi.Input<string>,
): ShellCommand {
  const del =
    onDelete === undefined ? undefined : pulumi.output(onDelete).apply((d) => `sh -c ${q(d)}`);
  if (endpoint.kind === "ssh") {
    return new command.remote.Command(
      name,
      {
        connection: endpoint.connection,
        create: "sh -s",
        stdin: script,
        delete: del,
        logging: "stdoutAndStderr",
      },
      opts,
    );
  }
  return new command.local.Command(
    name,
    {
      create: "sh -s",
      stdin: script,
      delete: del,
      interpreter: ["/bin/sh", "-c"],
      logging: "stdoutAndStderr",
    },
    opts,
  );
}

/** The type of the resource `uploadFile` registers for an endpoint. */
export function uploadType(endpoint: Endpoint): string {
  return endpoint.kind === "ssh" ? "command:remote:CopyToRemote" : "command:local:Command";
}

/**
 * Puts a local file at a path on the target: CopyToRemote over SSH, or an atomic copy on
 * this machine. The destination's name carries the release id, so a new release is a new file.
 */
export function uploadFile(
  name: string,
  endpoint: Endpoint,
  localPath: string,
  remotePath: string,
  opts: pulumi.CustomResourceOptions,
  keep = false,
): pulumi.Resource {
  // `keep`: the file is on the target already; the inputs that name it are not diffed, so an
  // upload of another release that the state holds is neither copied again nor replaced.
  if (keep)
    opts = {
      ...opts,
      ignoreChanges: endpoint.kind === "ssh" ? ["source", "remotePath"] : ["stdin"],
    };
  if (endpoint.kind === "ssh") {
    return new command.remote.CopyToRemote(
      name,
      {
        connection: endpoint.connection,
        source: new pulumi.asset.FileAsset(localPath),
        remotePath,
      },
      opts,
    );
  }
  return shellCommand(name, endpoint, localCopyScript(localPath, remotePath), opts);
}
