import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { SshTarget } from "../survey/ssh";
import { freePort } from "./ports";

function keygen(file: string, passphrase = ""): { privateKey: string; publicKey: string } {
  execFileSync("ssh-keygen", [
    "-q",
    "-t",
    "ed25519",
    "-N",
    passphrase,
    "-C",
    "ssot-deploy-test",
    "-f",
    file,
  ]);
  return {
    privateKey: fs.readFileSync(file, "utf8"),
    publicKey: fs.readFileSync(`${file}.pub`, "utf8").trim(),
  };
}

async function waitForPort(port: number, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.end();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on 127.0.0.1:${port}`);
}

export interface SshdOptions {
  passphrase?: string;
  path?: string;
  /**
   * A directory path at which every session of this server sees a disk of its own (`disk`),
   * so that servers on one machine can share a config's deployRoot as real servers do. A
   * mount namespace does it: root only.
   */
  diskAt?: string;
}

/**
 * `argv` run in a mount namespace of its own where `<dir>/disk` is mounted at `at`, which is
 * made (empty) on this machine first.
 */
function onOwnDisk(argv: readonly string[], dir: string, at: string): string[] {
  fs.mkdirSync(path.join(dir, "disk"));
  fs.mkdirSync(at, { recursive: true });
  const mount = `mount --bind "$1" "$2" && shift 2 && exec "$@"`;
  return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", mount, "sh"].concat([
    path.join(dir, "disk"),
    at,
    ...argv,
  ]);
}

/**
 * A real OpenSSH server on a free loopback port, with throwaway host and user keys, logging
 * in as the user running the tests. Nothing listens beyond 127.0.0.1; `stop()` ends it.
 */
export class TestSshd {
  private constructor(
    public readonly dir: string,
    public readonly port: number,
    public readonly hostKey: string,
    public readonly userKey: { privateKey: string; publicKey: string },
    private proc: ChildProcess,
  ) {}

  /** Where this machine sees what the sessions see at `diskAt`, when it is set. */
  get disk(): string {
    return path.join(this.dir, "disk");
  }

  /**
   * `passphrase` protects the user key; `path` is the PATH every session gets (sshd's SetEnv),
   * which lets a test put its own commands in front of the system's.
   */
  static async start(opts: SshdOptions = {}): Promise<TestSshd> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssot-sshd-"));
    const host = keygen(path.join(dir, "host_ed25519"));
    const user = keygen(path.join(dir, "user_ed25519"), opts.passphrase ?? "");
    fs.writeFileSync(path.join(dir, "authorized_keys"), `${user.publicKey}\n`, { mode: 0o600 });
    const port = await freePort();
    fs.writeFileSync(
      path.join(dir, "sshd_config"),
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${path.join(dir, "host_ed25519")}`,
        `PidFile ${path.join(dir, "sshd.pid")}`,
        `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "PermitRootLogin prohibit-password",
        "StrictModes no",
        "UsePAM no",
        // VERBOSE logs each login ("Accepted publickey"): what `logins()` counts.
        "LogLevel VERBOSE",
        "MaxStartups 50",
        "MaxSessions 50",
        "Subsystem sftp internal-sftp",
        ...(opts.path ? [`SetEnv PATH=${opts.path}`] : []),
        "",
      ].join("\n"),
    );
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const log = path.join(dir, "sshd.log");
    const sshd = ["/usr/sbin/sshd", "-D", "-E", log, "-f", path.join(dir, "sshd_config")];
    const argv = opts.diskAt === undefined ? sshd : onOwnDisk(sshd, dir, opts.diskAt);
    // unshare and sh exec sshd: the child's pid is the server's.
    const proc = spawn(argv[0], argv.slice(1), { stdio: "ignore" });
    try {
      await waitForPort(port, Date.now() + 10_000);
    } catch (e) {
      proc.kill("SIGKILL");
      const said = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "";
      throw new Error(`${(e as Error).message}: ${said}`);
    }
    return new TestSshd(dir, port, host.publicKey, user, proc);
  }

  /** How many logins this server has accepted since it started, as its log records them. */
  logins(): number {
    const log = path.join(this.dir, "sshd.log");
    if (!fs.existsSync(log)) return 0;
    return (fs.readFileSync(log, "utf8").match(/^.*Accepted publickey for /gm) ?? []).length;
  }

  /** Lets another key log in too, as a second server of the same stack would. */
  authorize(publicKey: string): void {
    fs.appendFileSync(path.join(this.dir, "authorized_keys"), `${publicKey}\n`);
  }

  /** Connection settings for this server, as the stack config would give them. */
  target(overrides: Partial<SshTarget> = {}): SshTarget {
    return {
      host: "127.0.0.1",
      port: this.port,
      user: os.userInfo().username,
      hostKey: this.hostKey,
      privateKey: this.userKey.privateKey,
      ...overrides,
    };
  }

  /**
   * Every process this server started for its clients, and all that those started: the
   * sessions' sshd processes first, then the shells and commands under them.
   */
  sessionProcesses(): { pid: number; command: string; depth: number }[] {
    const children = new Map<number, { pid: number; command: string }[]>();
    for (const e of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(e)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        const command = fs.readFileSync(`/proc/${e}/cmdline`, "utf8").replace(/\0/g, " ").trim();
        children.set(ppid, [...(children.get(ppid) ?? []), { pid: Number(e), command }]);
      } catch {
        // The process ended while it was being read.
      }
    }
    const out: { pid: number; command: string; depth: number }[] = [];
    const walk = (pid: number, depth: number) => {
      for (const c of children.get(pid) ?? []) {
        out.push({ ...c, depth });
        walk(c.pid, depth + 1);
      }
    };
    if (this.proc.pid !== undefined) walk(this.proc.pid, 0);
    return out;
  }

  /**
   * Cuts every client connection. With `keepCommands`, only the sessions' sshd processes die
   * (a dropped network: the commands they ran live on); without it, the commands die with
   * them (a crash at that instant). The server keeps listening. Returns the pids killed.
   */
  cut(opts: { keepCommands?: boolean } = {}): number[] {
    const victims = this.sessionProcesses().filter(
      (p) => !opts.keepCommands || p.command.startsWith("sshd"),
    );
    for (const v of victims) {
      try {
        process.kill(v.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    return victims.map((v) => v.pid);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once("exit", r));
      this.proc.kill("SIGTERM");
      await exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
