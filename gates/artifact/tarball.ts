import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as zlib from "node:zlib";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import { Header, Parser, Pax, ReadEntry } from "tar";
import { ExcludeFilter } from "./excludes";
import { ManifestEntry } from "./manifest";

export interface TarballOptions {
  /** Repository to read from; its working tree is never read. */
  repo: string;
  commit: string;
  /** Seconds since the epoch, stamped on every entry (the commit time). */
  mtime: number;
  exclude: readonly string[];
  /** Where the .tar.gz goes; written under a temporary name first, then renamed. */
  outPath: string;
}

export interface TarballResult {
  /** sha256 of the .tar.gz file. */
  sha256: string;
  /** sha256 of the uncompressed tar stream: the identity that no zlib version changes. */
  tarSha256: string;
  bytes: number;
  /** Regular files, sorted by path. */
  manifest: ManifestEntry[];
  symlinks: { path: string; target: string }[];
  directories: number;
  /** The directories' paths, as the tar holds them: the entries list names each. */
  directoryPaths: string[];
  /** Paths left out by the excludes (a directory counts once). */
  excluded: string[];
}

const BLOCK = 512;
// GNU tar's default record is 20 blocks; padding to it keeps strict readers quiet.
const RECORD = BLOCK * 20;
const ZEROS = Buffer.alloc(RECORD);
const SLAB = 256 * 1024;

/** Encodes one normalised header: owner 0:0, no user names, fixed mtime. Exported for testing. */
export function encodeHeader(h: {
  path: string;
  type: "File" | "Directory" | "SymbolicLink";
  mode: number;
  size: number;
  mtime: Date;
  linkpath?: string;
}): Buffer {
  const header = new Header({
    path: h.path,
    type: h.type,
    mode: h.mode,
    size: h.size,
    mtime: h.mtime,
    uid: 0,
    gid: 0,
    uname: "",
    gname: "",
    linkpath: h.linkpath ?? "",
    devmaj: 0,
    devmin: 0,
  });
  const block = Buffer.alloc(BLOCK);
  const needPax = header.encode(block);
  if (!needPax) return block;
  // Names past ustar's 255 bytes travel in a pax record, as GNU tar and git archive do.
  const pax = new Pax({ path: h.path, linkpath: h.linkpath, mtime: h.mtime, uid: 0, gid: 0 });
  return Buffer.concat([pax.encode(), block]);
}

/** Counts and hashes whatever passes through, on its way to disk. */
class Digest extends Transform {
  readonly hash = createHash("sha256");
  bytes = 0;
  _transform(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.push(chunk);
    done();
  }
}

function runGitArchive(repo: string, commit: string) {
  const child = spawn("git", ["-C", repo, "archive", "--format=tar", commit], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/", LANG: "C" },
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d.slice(0, 4096)));
  // Resolves to git's own error, if it reported one: that names the cause better than the
  // parser's complaint about the truncated stream it left behind.
  const exited = new Promise<Error | undefined>((resolve) => {
    child.on("error", resolve);
    child.on("close", (code) =>
      resolve(
        code === 0
          ? undefined
          : new Error(`git archive ${commit} failed (exit ${code}): ${stderr.trim()}`),
      ),
    );
  });
  return { stdout: child.stdout, exited };
}

/**
 * Builds the artifact of `commit` as a stream: git archive's tar is re-written entry by entry
 * with the excludes applied and the headers normalised, then gzipped. Nothing larger than a
 * stream chunk is held in memory, whatever the size of a file or of the tree.
 */
export async function buildTarball(opts: TarballOptions): Promise<TarballResult> {
  const filter = new ExcludeFilter(opts.exclude);
  const mtime = new Date(opts.mtime * 1000);
  const tarHash = createHash("sha256");
  // Level 6, as git archive uses; large output chunks keep zlib's callbacks few.
  const gzip = zlib.createGzip({ level: 6, chunkSize: 256 * 1024 });
  const digest = new Digest();
  const tmp = `${opts.outPath}.tmp-${process.pid}`;
  const written = pipeline(gzip, digest, fs.createWriteStream(tmp, { mode: 0o644 }));
  const manifest: ManifestEntry[] = [];
  const symlinks: { path: string; target: string }[] = [];
  const excluded: string[] = [];
  let directories = 0;
  const directoryPaths: string[] = [];
  let offset = 0;

  // zlib does one threadpool round trip per write: gather headers and small chunks into slabs.
  let slab: Buffer[] = [];
  let slabBytes = 0;
  const flush = (): boolean => {
    if (slabBytes === 0) return true;
    const buf = slab.length === 1 ? slab[0] : Buffer.concat(slab, slabBytes);
    slab = [];
    slabBytes = 0;
    tarHash.update(buf);
    return gzip.write(buf);
  };
  const emit = (buf: Buffer): boolean => {
    offset += buf.length;
    slab.push(buf);
    slabBytes += buf.length;
    return slabBytes < SLAB || flush();
  };

  const git = runGitArchive(opts.repo, opts.commit);
  const parser = new Parser({ strict: true });
  parser.on("entry", (entry: ReadEntry) => {
    const isDir = entry.type === "Directory";
    const path = entry.path.replace(/\/+$/, "");
    if (filter.excludes(path, isDir)) {
      const slash = path.lastIndexOf("/");
      if (slash < 0 || !filter.excludes(path.slice(0, slash), true)) excluded.push(path);
      entry.resume();
      return;
    }
    if (isDir) {
      directories++;
      directoryPaths.push(path);
      emit(encodeHeader({ path: `${path}/`, type: "Directory", mode: 0o755, size: 0, mtime }));
      entry.resume();
    } else if (entry.type === "SymbolicLink") {
      const target = entry.linkpath ?? "";
      symlinks.push({ path, target });
      emit(
        encodeHeader({ path, type: "SymbolicLink", mode: 0o777, size: 0, mtime, linkpath: target }),
      );
      entry.resume();
    } else if (entry.type === "File" || entry.type === "OldFile") {
      const size = entry.size ?? 0;
      const executable = ((entry.mode ?? 0) & 0o111) !== 0;
      const fileHash = createHash("sha256");
      emit(encodeHeader({ path, type: "File", mode: executable ? 0o755 : 0o644, size, mtime }));
      entry.on("data", (chunk: Buffer) => {
        fileHash.update(chunk);
        if (!emit(chunk)) {
          entry.pause();
          gzip.once("drain", () => entry.resume());
        }
      });
      entry.on("end", () => {
        const pad = (BLOCK - (size % BLOCK)) % BLOCK;
        if (pad > 0) emit(ZEROS.subarray(0, pad));
        manifest.push({ path, sha256: fileHash.digest("hex"), size, executable });
      });
    } else {
      parser.abort(new Error(`git archive produced an entry of type ${entry.type} at ${path}`));
    }
  });

  try {
    const parsed = pipeline(git.stdout, parser).then(
      () => undefined,
      (e: Error) => e,
    );
    const [parseError, gitError] = await Promise.all([parsed, git.exited]);
    if (gitError ?? parseError) throw gitError ?? parseError;
    // Two zero blocks end the archive; then pad to a whole record.
    const tail = 2 * BLOCK + ((RECORD - ((offset + 2 * BLOCK) % RECORD)) % RECORD);
    emit(Buffer.alloc(tail));
    flush();
    gzip.end();
    await written;
    await fs.promises.rename(tmp, opts.outPath);
  } catch (err) {
    gzip.destroy();
    await written.catch(() => undefined);
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  return {
    sha256: digest.hash.digest("hex"),
    tarSha256: tarHash.digest("hex"),
    bytes: digest.bytes,
    manifest,
    symlinks,
    directories,
    directoryPaths,
    excluded,
  };
}
