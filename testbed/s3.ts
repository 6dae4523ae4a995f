import { ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { projectRoot } from "../lib/paths";
import { ENGINE_DIR } from "../tools/engine";
import { freePort } from "./ports";

/** The mode bit the filer's listing sets on a directory (Go's os.ModeDir). */
const MODE_DIR = 2 ** 31;

/** One entry of a directory as the filer lists it in JSON. */
interface FilerEntry {
  FullPath: string;
  Mode: number;
}

/** Where `npm run engine` puts the server: beside the CLI, in the engine's bin/. */
export function weedBinary(root = projectRoot(), env: NodeJS.ProcessEnv = process.env): string {
  return path.join(path.resolve(root, env.SSOT_ENGINE_DIR ?? ENGINE_DIR), "bin", "weed");
}

/**
 * A real S3-compatible server (SeaweedFS's `weed mini`: master, volume, filer and S3 in one
 * process) on 127.0.0.1 only, every service on a free port, its data in a temporary folder,
 * with one bucket and one access key made at start. `stop()` ends it and removes the folder.
 */
export class TestS3 {
  private constructor(
    readonly dir: string,
    readonly bucket: string,
    readonly accessKey: string,
    private readonly secretKey: string,
    readonly s3Port: number,
    readonly filerPort: number,
    private readonly proc: ChildProcess,
  ) {}

  static async start(): Promise<TestS3> {
    const weed = weedBinary();
    if (!fs.existsSync(weed))
      throw new Error(
        `the S3 server is not built: ${weed} is missing; run npm run engine, which builds it`,
      );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssot-s3-"));
    const data = path.join(dir, "data");
    fs.mkdirSync(data);
    const bucket = `ssot-${randomBytes(4).toString("hex")}`;
    const accessKey = `ssot${randomBytes(8).toString("hex")}`;
    const secretKey = randomBytes(24).toString("hex");
    const ports: Record<string, number> = {};
    // Every port is named: the defaults are fixed numbers, which a second server would collide
    // on, and a gRPC port left at 0 is its HTTP port + 10000, which may be taken.
    for (const p of [
      "master.port",
      "master.port.grpc",
      "volume.port",
      "volume.port.grpc",
      "filer.port",
      "filer.port.grpc",
      "s3.port",
      "s3.port.grpc",
      "admin.port",
      "admin.port.grpc",
    ])
      ports[p] = await freePort();
    const args = [
      "mini",
      `-dir=${data}`,
      // The default binds every interface: both flags keep each service on loopback.
      "-ip=127.0.0.1",
      "-ip.bind=127.0.0.1",
      ...Object.entries(ports).map(([k, v]) => `-${k}=${v}`),
      // What the tests do not use stays off; telemetry would send statistics off this machine.
      "-master.telemetry=false",
      "-admin.ui=false",
      "-admin.port.legacy=0",
      "-webdav=false",
      "-s3.port.iceberg=0",
      "-s3.port.lance=0",
      `-filer.localSocket=${path.join(dir, "filer.sock")}`,
      `-s3.localSocket=${path.join(dir, "s3.sock")}`,
    ];
    const log = fs.openSync(path.join(dir, "weed.log"), "a");
    const proc = spawn(weed, args, {
      cwd: dir,
      stdio: ["ignore", log, log],
      // With these, mini makes the access key and the bucket itself at start.
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        AWS_ACCESS_KEY_ID: accessKey,
        AWS_SECRET_ACCESS_KEY: secretKey,
        S3_BUCKET: bucket,
      },
    });
    fs.closeSync(log);
    const s3 = new TestS3(
      dir,
      bucket,
      accessKey,
      secretKey,
      ports["s3.port"],
      ports["filer.port"],
      proc,
    );
    try {
      await s3.ready(Date.now() + 60_000);
    } catch (e) {
      await s3.stop();
      throw e;
    }
    return s3;
  }

  /** Waits until the S3 port answers and the filer holds the bucket's folder. */
  private async ready(deadline: number): Promise<void> {
    let last = "";
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) break;
      try {
        const s3 = await fetch(`http://127.0.0.1:${this.s3Port}/`);
        const bucket = await fetch(this.filerUrl(""), { headers: { Accept: "application/json" } });
        if (s3.status > 0 && bucket.ok) return;
        last = `S3 answered ${s3.status}, the filer ${bucket.status} for /buckets/${this.bucket}/`;
      } catch (e) {
        last = (e as Error).message;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const said = fs.readFileSync(path.join(this.dir, "weed.log"), "utf8").slice(-2000);
    throw new Error(`weed mini was not ready on 127.0.0.1:${this.s3Port} (${last}): ${said}`);
  }

  /** The server's process id, while it runs. */
  get pid(): number | undefined {
    return this.proc.exitCode === null ? this.proc.pid : undefined;
  }

  /** What `pulumi login` takes to keep its state in this server's bucket. */
  get backendUrl(): string {
    return (
      `s3://${this.bucket}?endpoint=http://127.0.0.1:${this.s3Port}` +
      "&s3ForcePathStyle=true&region=us-east-1"
    );
  }

  /**
   * The environment an operator's CLI needs for this backend: the access key, and no other
   * source of credentials (no AWS files of the user's, no instance metadata, which lives off
   * loopback).
   */
  clientEnv(): NodeJS.ProcessEnv {
    return {
      AWS_ACCESS_KEY_ID: this.accessKey,
      AWS_SECRET_ACCESS_KEY: this.secretKey,
      AWS_REGION: "us-east-1",
      AWS_CONFIG_FILE: path.join(this.dir, "no-aws-config"),
      AWS_SHARED_CREDENTIALS_FILE: path.join(this.dir, "no-aws-credentials"),
      AWS_EC2_METADATA_DISABLED: "true",
    };
  }

  private filerUrl(key: string): string {
    const encoded = key
      .split("/")
      .map((s) => encodeURIComponent(s))
      .join("/");
    return `http://127.0.0.1:${this.filerPort}/buckets/${this.bucket}/${encoded}`;
  }

  /**
   * Every object of the bucket under `prefix` (a folder, ending in /), by key, with its bytes,
   * as the server's own filer serves them: not through the engine nor this project's code.
   */
  async objects(prefix = ""): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    const base = `/buckets/${this.bucket}/`;
    const walk = async (folder: string): Promise<void> => {
      let after = "";
      for (;;) {
        const url = `${this.filerUrl(folder)}?limit=1000&lastFileName=${encodeURIComponent(after)}`;
        const res = await fetch(url, { headers: { Accept: "application/json" } });
        if (!res.ok) throw new Error(`the filer answered ${res.status} for ${url}`);
        const listing = (await res.json()) as {
          Entries: FilerEntry[] | null;
          ShouldDisplayLoadMore: boolean;
          LastFileName: string;
        };
        for (const e of listing.Entries ?? []) {
          const key = e.FullPath.slice(base.length);
          if ((e.Mode & MODE_DIR) !== 0) await walk(`${key}/`);
          else {
            const got = await fetch(this.filerUrl(key));
            if (!got.ok) throw new Error(`the filer answered ${got.status} for ${key}`);
            out.set(key, Buffer.from(await got.arrayBuffer()));
          }
        }
        if (!listing.ShouldDisplayLoadMore) return;
        after = listing.LastFileName;
      }
    };
    await walk(prefix);
    return out;
  }

  /** Ends the server and deletes its data. */
  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((r) => this.proc.once("exit", r));
      this.proc.kill("SIGTERM");
      const timer = setTimeout(() => this.proc.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
