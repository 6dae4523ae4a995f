import * as os from "node:os";
import * as pulumi from "@pulumi/pulumi";
import { Endpoint } from "./commands";
import { LockInfo } from "../remote/lock";
import { StackConfig } from "../config/stack";
import { SurveyedHost } from "../survey/serverSurvey";

/**
 * Who deploys. The token names the deploy source (user, machine, project directory, stack), so
 * a re-run from the same place re-enters its own lock and a second working copy cannot.
 */
export function lockInfoFor(stack: string, cwd = process.cwd()): Omit<LockInfo, "artifact"> {
  const user = os.userInfo().username;
  const host = os.hostname();
  return { token: `${user}@${host}:${cwd}:${stack}`, holder: user, host };
}

/** The endpoint a host's commands run on; the key stays a secret Output inside the connection. */
export function endpointFor(h: SurveyedHost, config: StackConfig): Endpoint {
  if (!h.spec) return { kind: "local" };
  return {
    kind: "ssh",
    connection: {
      host: h.spec.host,
      port: h.spec.port,
      user: h.spec.user,
      hostKey: h.spec.hostKey,
      privateKey: config.ssh.privateKey,
      privateKeyPassword: config.ssh.passphrase.apply((p) =>
        p === "" ? undefined : p,
      ) as pulumi.Output<string>,
      dialErrorLimit: 3,
    },
  };
}
