import { spawn } from "node:child_process";
import { ExecResult, SshSession, SshTarget } from "./ssh";

/** Runs scripts on one deploy target: a server over SSH, or this machine for target local. */
export interface Runner {
  /** "user@host:port", or "local", for messages. */
  readonly where: string;
  run(script: string): Promise<ExecResult>;
  close(): void;
}

/** Runs `sh -s` on this machine with the script on stdin, as SSH would on a server. */
export class LocalRunner implements Runner {
  readonly where = "local";

  run(script: string): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      const child = spawn("sh", ["-s"], { stdio: ["pipe", "pipe", "pipe"] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (d: Buffer) => out.push(d));
      child.stderr.on("data", (d: Buffer) => err.push(d));
      child.on("error", reject);
      child.on("close", (code) =>
        resolve({
          code: code ?? 255,
          stdout: Buffer.concat(out).toString("utf8"),
          stderr: Buffer.concat(err).toString("utf8"),
        }),
      );
      child.stdin.end(script);
    });
  }

  close(): void {}
}

export class SshRunner implements Runner {
  private constructor(
    readonly where: string,
    private readonly session: SshSession,
  ) {}

  /** Opens one connection, checked against the pinned host key; throws SshError. */
  static async open(t: SshTarget): Promise<SshRunner> {
    return new SshRunner(`${t.user}@${t.host}:${t.port}`, await SshSession.connect(t));
  }

  run(script: string): Promise<ExecResult> {
    return this.session.run(script);
  }

  close(): void {
    this.session.close();
  }
}

/**
 * A runner for one deploy target: SSH to the host with the pinned host key, or this machine
 * when there is no host (target local). An empty passphrase means the key has none.
 */
export function openRunner(
  host: Omit<SshTarget, "privateKey" | "passphrase"> | undefined,
  key: { privateKey?: string; passphrase?: string },
): Promise<Runner> {
  if (host === undefined) return Promise.resolve(new LocalRunner());
  return SshRunner.open({
    ...host,
    privateKey: key.privateKey ?? "",
    passphrase: key.passphrase || undefined,
  });
}
