import { Client, ConnectConfig } from "ssh2";

/** Where and how to connect. `hostKey` is the server's public key, "ssh-ed25519 AAAA…". */
export interface SshTarget {
  host: string;
  port: number;
  user: string;
  hostKey: string;
  privateKey: string;
  passphrase?: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Why a connection failed, in the words a blocked report needs. */
export class SshError extends Error {
  constructor(
    message: string,
    public readonly kind: "unreachable" | "host-key" | "auth",
  ) {
    super(message);
  }
}

/** The key blob of an OpenSSH public key line, which is what ssh2 hands the host verifier. */
export function keyBlob(publicKey: string): Buffer {
  const parts = publicKey.trim().split(/\s+/);
  if (parts.length < 2) throw new Error(`not an OpenSSH public key: "${publicKey.slice(0, 40)}"`);
  return Buffer.from(parts[1], "base64");
}

/** One SSH connection whose host key must be the pinned one. */
export class SshSession {
  private constructor(private readonly client: Client) {}

  static connect(t: SshTarget, timeoutMs = 10_000): Promise<SshSession> {
    const pinned = keyBlob(t.hostKey);
    let hostKeyRejected = false;
    const client = new Client();
    const config: ConnectConfig = {
      host: t.host,
      port: t.port,
      username: t.user,
      privateKey: t.privateKey,
      passphrase: t.passphrase,
      readyTimeout: timeoutMs,
      hostVerifier: (key: Buffer) => {
        hostKeyRejected = !key.equals(pinned);
        return !hostKeyRejected;
      },
    };
    const where = `${t.user}@${t.host}:${t.port}`;
    return new Promise((resolve, reject) => {
      client.once("ready", () => resolve(new SshSession(client)));
      client.once("error", (err: Error & { level?: string }) => {
        client.end();
        if (hostKeyRejected) {
          reject(
            new SshError(
              `the host key of ${where} is not the pinned hostKey (possible impersonation, or the server was rebuilt)`,
              "host-key",
            ),
          );
        } else if (err.level === "client-authentication") {
          reject(new SshError(`${where} refused the configured key for user ${t.user}`, "auth"));
        } else {
          reject(new SshError(`${where} is unreachable: ${err.message}`, "unreachable"));
        }
      });
      try {
        client.connect(config);
      } catch (err) {
        reject(new SshError(`cannot connect to ${where}: ${(err as Error).message}`, "auth"));
      }
    });
  }

  /** Runs `sh -s` with the script on stdin, so no script text appears in a process list. */
  run(scriptText: string): Promise<ExecResult> {
    return this.exec("sh -s", Buffer.from(scriptText));
  }

  exec(command: string, stdin?: Buffer): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err, stream) => {
        if (err) return reject(err);
        const out: Buffer[] = [];
        const errs: Buffer[] = [];
        stream.on("data", (d: Buffer) => out.push(d));
        stream.stderr.on("data", (d: Buffer) => errs.push(d));
        stream.on("close", (code: number | null) =>
          resolve({
            code: code ?? 255,
            stdout: Buffer.concat(out).toString("utf8"),
            stderr: Buffer.concat(errs).toString("utf8"),
          }),
        );
        stream.end(stdin);
      });
    });
  }

  /**
   * Writes a local file to a remote path through SFTP. A connection lost partway fails the
   * upload (SFTP alone would wait for replies that never come).
   */
  upload(localPath: string, remotePath: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const lost = () => reject(new Error(`the connection closed while uploading ${remotePath}`));
      this.client.once("close", lost);
      const done = (e?: Error | null) => {
        this.client.removeListener("close", lost);
        if (e) reject(e);
        else resolve();
      };
      this.client.sftp((err, sftp) => {
        if (err) return done(err);
        sftp.fastPut(localPath, remotePath, (e) => {
          sftp.end();
          done(e);
        });
      });
    });
  }

  close(): void {
    this.client.end();
  }
}
