import * as fs from "node:fs";
import * as path from "node:path";
import { SourceConfig } from "../../config/source";
import { BUILTIN_EXCLUDES } from "./excludes";
import { GateFailure } from "../gate";
import { ResolvedCommit } from "../git";
import { formatLinks, formatManifest } from "./manifest";
import { buildTarball } from "./tarball";
import { sha256Hex as sha256, short } from "../../lib/hash";

/** The artifact of one commit, as gate G4 leaves it on this machine. */
export interface BuiltArtifact {
  /** `<commit 12>-<tar digest 8>`: the same commit and excludes always give the same id. */
  releaseId: string;
  commit: string;
  tree: string;
  /** sha256 of the .tar.gz, what the server verifies after upload. */
  sha256: string;
  /** sha256 of the uncompressed tar. */
  tarSha256: string;
  bytes: number;
  /** Sum of the files' sizes: what the release takes once extracted. */
  unpackedBytes: number;
  files: number;
  manifestSha256: string;
  path: string;
  manifestPath: string;
  /** Symlinks of the release, "path TAB target" per line. */
  linksPath: string;
  /** The G4 line. */
  detail: string;
  /**
   * True for a rollback to a release kept on the servers: nothing was built here, `path` is only
   * the file name its first deploy attested, `bytes` is 0 and there is no manifest file here.
   */
  kept?: boolean;
}

/** Derives the release id. Exported for testing. */
export function releaseIdOf(commit: string, tarSha256: string): string {
  return `${short(commit)}-${tarSha256.slice(0, 8)}`;
}

async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.promises.writeFile(tmp, text);
  await fs.promises.rename(tmp, file);
}

/** Whether a symlink at `link` (relative to the release) resolves outside the release. */
export function leavesRelease(link: string, target: string): boolean {
  if (target.startsWith("/")) return true;
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(link), target));
  return resolved === ".." || resolved.startsWith("../");
}

/**
 * Builds the artifact into `<workDir>/artifacts` and checks it against any earlier build of the
 * same commit and excludes: a difference there means the build is not reproducible, and blocks.
 */
export async function buildArtifact(
  cfg: SourceConfig,
  c: ResolvedCommit,
): Promise<BuiltArtifact | GateFailure> {
  const dir = path.join(cfg.workDir, "artifacts");
  await fs.promises.mkdir(path.join(dir, "builds"), { recursive: true });
  const staging = path.join(dir, `${c.commit}.${process.pid}.tar.gz`);
  const t = await buildTarball({
    repo: cfg.repo,
    commit: c.commit,
    mtime: c.time,
    exclude: cfg.exclude,
    outPath: staging,
  });

  // The server refuses such a link too; refusing it here lets preview say so.
  const escaping = t.symlinks.find((l) => leavesRelease(l.path, l.target));
  if (escaping) {
    await fs.promises.rm(staging, { force: true });
    return {
      gap: `commit ${short(c.commit)} holds a symlink that points outside the release: ${escaping.path} -> ${escaping.target}`,
      next: `replace it with a relative link inside the tree, or list the target in sharedFiles; or exclude it (pulumi config set --path 'exclude[0]' '${escaping.path}'); commit, run again`,
    };
  }
  const releaseId = releaseIdOf(c.commit, t.tarSha256);
  const file = path.join(dir, `${releaseId}.tar.gz`);
  await fs.promises.rename(staging, file);
  const manifest = formatManifest(t.manifest);
  const manifestPath = path.join(dir, `${releaseId}.sha256sums`);
  await writeAtomic(manifestPath, manifest);
  const linksPath = path.join(dir, `${releaseId}.links`);
  await writeAtomic(linksPath, formatLinks(t.symlinks));
  await writeAtomic(
    path.join(dir, `${releaseId}.json`),
    JSON.stringify(
      {
        releaseId,
        commit: c.commit,
        tree: c.tree,
        sha256: t.sha256,
        tarSha256: t.tarSha256,
        symlinks: t.symlinks,
      },
      null,
      2,
    ),
  );

  const record = path.join(
    dir,
    "builds",
    `${c.commit}-${sha256(JSON.stringify([...BUILTIN_EXCLUDES, ...cfg.exclude])).slice(0, 16)}.json`,
  );
  const earlier = await fs.promises
    .readFile(record, "utf8")
    .then((s) => JSON.parse(s) as { tarSha256: string; sha256: string; at: string })
    .catch(() => undefined);
  if (earlier && earlier.tarSha256 !== t.tarSha256) {
    return {
      gap: `building ${short(c.commit)} again gave a different tar (sha256 ${short(t.tarSha256)}, was ${short(earlier.tarSha256)} at ${earlier.at}): the build is not reproducible`,
      next: "look for export-subst placeholders or attributes that depend on the time or the machine; remove them, commit, run again",
    };
  }
  if (!earlier)
    await writeAtomic(
      record,
      JSON.stringify({ tarSha256: t.tarSha256, sha256: t.sha256, at: new Date().toISOString() }),
    );
  const repro = !earlier
    ? "first build of this commit"
    : earlier.sha256 === t.sha256
      ? `byte-identical to the build of ${earlier.at}`
      : `tar identical to the build of ${earlier.at}; gzip bytes differ (another zlib)`;
  return {
    releaseId,
    commit: c.commit,
    tree: c.tree,
    sha256: t.sha256,
    tarSha256: t.tarSha256,
    bytes: t.bytes,
    unpackedBytes: t.manifest.reduce((n, m) => n + m.size, 0),
    files: t.manifest.length,
    manifestSha256: sha256(manifest),
    path: file,
    manifestPath,
    linksPath,
    detail: `${releaseId}.tar.gz: ${t.manifest.length} files, ${t.bytes} bytes, sha256 ${short(t.sha256)}; ${t.excluded.length} excluded; ${repro}`,
  };
}

/** What the `artifact` stack output holds: the build, without its manifest and link files. */
export type ArtifactSummary = Pick<
  BuiltArtifact,
  | "releaseId"
  | "commit"
  | "tree"
  | "sha256"
  | "tarSha256"
  | "bytes"
  | "files"
  | "manifestSha256"
  | "path"
> & {
  /** True for a rollback to a kept release: nothing was built; `path` is the file name only. */
  kept: boolean;
};
