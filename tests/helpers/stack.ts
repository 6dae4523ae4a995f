import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EngineRun } from "../../testbed/events";
import { ThrowawayStack } from "../../testbed/stack";
import { SshdOptions, TestSshd } from "../../testbed/sshd";
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
 * The config of a stack that deploys `repo` over SSH to `servers`, named web1, web2, … in
 * order, the first's user key logging in to all, under `deployRoot` on each; its work and
 * reports under `work`, with a test command that takes no time; `over` adds or replaces keys.
 */
export function fleetStackConfig(
  repo: string,
  work: string,
  servers: readonly TestSshd[],
  deployRoot: string,
  over: Record<string, string> = {},
): Record<string, string> {
  return {
    repo,
    testCommand: "echo '1 passed, 0 failed'",
    workDir: path.join(work, "local"),
    reportDir: path.join(work, "reports"),
    target: "ssh",
    hosts: JSON.stringify(servers.map((s, i) => sshHost(`web${i + 1}`, s))),
    deployRoot,
    sshPrivateKey: servers[0].userKey.privateKey,
    ...over,
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
    hosts: web1Hosts(sshd),
    deployRoot: path.join(work, "srv", "app"),
    reportDir: path.join(work, "reports"),
    sshPrivateKey: sshd.userKey.privateKey,
    sharedFiles: JSON.stringify([".env", "kill-switch.json"]),
    ...over,
  };
}

/**
 * A stack's config for target local: the fixture repo at `repo`, deployed under
 * `<work>/server/app`, its work and reports under `work`; `over` adds or replaces keys.
 */
export function localStackConfig(
  repo: string,
  work: string,
  over: Record<string, string> = {},
): Record<string, string> {
  return {
    repo,
    testCommand: PY_TEST_COMMAND,
    workDir: work,
    target: "local",
    deployRoot: path.join(work, "server", "app"),
    reportDir: path.join(work, "reports"),
    ...over,
  };
}

/** What an SSH suite works on: a test sshd, a fixture repo, and a scratch directory. */
export interface SshSuite {
  sshd: TestSshd;
  repo: FixtureRepo;
  work: string;
  /** The deploy root the suite's stack config names: `<work>/srv/app`. */
  root: string;
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
    s.root = path.join(s.work, "srv", "app");
  });
  after(async () => {
    await s.sshd?.stop();
    s.repo?.remove();
    if (s.work) fs.rmSync(s.work, { recursive: true, force: true });
  });
  return s;
}

/** An SSH suite whose server holds a first deploy of the fixture repo, made before its tests. */
export interface DeployedSuite extends SshSuite {
  /** The fixture repo's first commit, the one deployed. */
  v1: string;
  /** The suite's stack, on a file backend of its own. */
  stack: ThrowawayStack;
  /** `pulumi up` of the suite's stack config, with `over` replacing keys. */
  up(over?: Record<string, string>): Promise<EngineRun>;
  /** `pulumi preview` of the suite's stack config, with `over` replacing keys. */
  preview(over?: Record<string, string>): Promise<EngineRun>;
}

/**
 * Registers the hooks that create a stack on a throwaway file backend before the suite and
 * remove it after. The holder's `stack` is set once the suite's `before` hooks run.
 */
export function engineStack(): { stack: ThrowawayStack } {
  const holder = {} as { stack: ThrowawayStack };
  before(async () => {
    holder.stack = await ThrowawayStack.create();
  });
  after(() => holder.stack?.remove());
  return holder;
}

/**
 * sshSuite, then a first deploy of the fixture repo through `pulumi up`; after each test the
 * repo goes back to that commit. Call it first in the describe body.
 */
export function deployedSuite(): DeployedSuite {
  const s = sshSuite() as DeployedSuite;
  const held = engineStack();
  const config = (over: Record<string, string>) => sshStackConfig(s.repo.dir, s.work, s.sshd, over);
  s.up = (over = {}) => s.stack.up(config(over));
  s.preview = (over = {}) => s.stack.preview(config(over));
  before(async () => {
    s.stack = held.stack;
    s.v1 = s.repo.head();
    const first = await s.up();
    if (first.error) throw first.error;
  });
  afterEach(() => s.repo.git("reset", "-q", "--hard", s.v1));
  return s;
}

/**
 * Runs `body` with a second login user on the suite's sshd, a user that owns nothing there
 * (so it cannot write to root-owned directories), and removes the user after. Root only: it
 * adds a user, as CI can.
 */
export async function asUnprivilegedUser(
  suite: SshSuite,
  user: string,
  body: () => Promise<void>,
): Promise<void> {
  execFileSync("sh", [
    "-c",
    `id ${user} >/dev/null 2>&1 || useradd -M -s /bin/sh ${user}; usermod -p '*' ${user}`,
  ]);
  // sshd reads authorized_keys as the user logging in; the root-owned tree stays 755.
  fs.chmodSync(suite.sshd.dir, 0o755);
  fs.chmodSync(path.join(suite.sshd.dir, "authorized_keys"), 0o644);
  fs.chmodSync(suite.work, 0o755);
  try {
    await body();
  } finally {
    // -f: its session may not have ended yet.
    execFileSync("userdel", ["-f", user]);
  }
}
