import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { SshTarget } from "../components/ssh";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

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

  static async start(opts: { passphrase?: string } = {}): Promise<TestSshd> {
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
        "LogLevel ERROR",
        "MaxStartups 50",
        "MaxSessions 50",
        "Subsystem sftp internal-sftp",
        "",
      ].join("\n"),
    );
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const proc = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", path.join(dir, "sshd_config")], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
      await waitForPort(port, Date.now() + 10_000);
    } catch (e) {
      proc.kill("SIGKILL");
      throw new Error(`${(e as Error).message}: ${stderr}`);
    }
    return new TestSshd(dir, port, host.publicKey, user, proc);
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

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once("exit", r));
      this.proc.kill("SIGTERM");
      await exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
