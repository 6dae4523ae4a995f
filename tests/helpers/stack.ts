import * as os from "node:os";
import * as path from "node:path";
import { TestSshd } from "../../harness/sshd";
import { PY_TEST_COMMAND } from "./repo";

/** A host entry for a test sshd, as `hosts` config lists it. */
export function sshHost(name: string, sshd: TestSshd) {
  return {
    name,
    host: "127.0.0.1",
    port: sshd.port,
    user: os.userInfo().username,
    hostKey: sshd.hostKey,
  };
}

/**
 * The config of a stack that deploys `repo` over SSH to one test sshd, under `work`, with the
 * sample app's tests and shared files; `over` adds or replaces keys.
 */
export function sshStackConfig(
  repo: string,
  work: string,
  sshd: TestSshd,
  over: Record<string, string> = {},
): Record<string, string> {
  return {
    repo,
    testCommand: PY_TEST_COMMAND,
    workDir: path.join(work, "local"),
    target: "ssh",
    hosts: JSON.stringify([sshHost("web1", sshd)]),
    deployRoot: path.join(work, "srv", "app"),
    reportDir: path.join(work, "reports"),
    sshPrivateKey: sshd.userKey.privateKey,
    sharedFiles: JSON.stringify([".env", "kill-switch.json"]),
    ...over,
  };
}
