import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SshdOptions, TestSshd } from "../../harness/sshd";
import { FixtureRepo, PY_TEST_COMMAND, tempDir } from "./repo";

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

/** The `hosts` config of one host web1 on a test sshd, with `over` replacing its fields. */
export function web1Hosts(sshd: TestSshd, over: Record<string, unknown> = {}): string {
  return JSON.stringify([{ ...sshHost("web1", sshd), ...over }]);
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
    hosts: web1Hosts(sshd),
    deployRoot: path.join(work, "srv", "app"),
    reportDir: path.join(work, "reports"),
    sshPrivateKey: sshd.userKey.privateKey,
    sharedFiles: JSON.stringify([".env", "kill-switch.json"]),
    ...over,
  };
}

/** What an SSH suite works on: a test sshd, a fixture repo, and a scratch directory. */
export interface SshSuite {
  sshd: TestSshd;
  repo: FixtureRepo;
  work: string;
}

/**
 * Registers the hooks that start a test sshd, create the fixture repo and a scratch directory
 * before the suite, and stop and remove them after it. Call it first in the describe body, so
 * the suite's own `before` sees them set.
 */
export function sshSuite(opts: SshdOptions = {}): SshSuite {
  const s = {} as SshSuite;
  before(async () => {
    s.sshd = await TestSshd.start(opts);
    s.repo = FixtureRepo.create();
    s.work = tempDir();
  });
  after(async () => {
    await s.sshd?.stop();
    s.repo?.remove();
    if (s.work) fs.rmSync(s.work, { recursive: true, force: true });
  });
  return s;
}
