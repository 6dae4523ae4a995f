import * as fs from "node:fs";
import * as path from "node:path";
import { SourceConfig } from "../../config/source";
import { BUILTIN_EXCLUDES } from "./excludes";
import { GateFailure } from "../gate";
import { ResolvedCommit } from "../git";
import { formatLinks, formatManifest } from "./manifest";
import { formatEntries } from "./entries";
import { buildTarball } from "./tarball";
import { fileSha256, sha256Hex as sha256, short } from "../../lib/hash";
import { TOOL_VERSION } from "../../lib/version";

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
  /** sha256 of the links file: the provenance signs it, since a server trusts it. */
  linksSha256: string;
  /** sha256 of the entries list (formatEntries): every entry of the release, signed too. */
  entriesSha256: string;
  path: string;
  manifestPath: string;
  /** Symlinks of the release, "path TAB target" per line. */
  linksPath: string;
  /** Every entry of the release, by type, one per line (formatEntries). */
  entriesPath: string;
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

/** What a build keeps beside its artifact, to be reused without building again. */
interface BuildRecord {
  releaseId: string;
  tarSha256: string;
  sha256: string;
  bytes: number;
  unpackedBytes: number;
  files: number;
  excluded: number;
  at: string;
  /** When a second build gave the same tar, and with which version of this tool. */
  reproduced?: { at: string; by: string };
}

/** The files a build leaves in `dir`, by release id. */
function buildFiles(dir: string, releaseId: string) {
  return {
    path: path.join(dir, `${releaseId}.tar.gz`),
    manifestPath: path.join(dir, `${releaseId}.sha256sums`),
    linksPath: path.join(dir, `${releaseId}.links`),
    entriesPath: path.join(dir, `${releaseId}.entries`),
  };
}

/** The artifact a record describes, with the G4 line saying how it came to be. */
async function artifactOf(
  dir: string,
  c: ResolvedCommit,
  r: BuildRecord,
  how: string,
): Promise<BuiltArtifact> {
  const files = buildFiles(dir, r.releaseId);
  const [manifest, links, entries] = await Promise.all(
    [files.manifestPath, files.linksPath, files.entriesPath].map((f) =>
      fs.promises.readFile(f, "utf8"),
    ),
  );
  return {
    releaseId: r.releaseId,
    commit: c.commit,
    tree: c.tree,
    sha256: r.sha256,
    tarSha256: r.tarSha256,
    bytes: r.bytes,
    unpackedBytes: r.unpackedBytes,
    files: r.files,
    manifestSha256: sha256(manifest),
    linksSha256: sha256(links),
    entriesSha256: sha256(entries),
    ...files,
    detail: `${r.releaseId}.tar.gz: ${r.files} files, ${r.bytes} bytes, sha256 ${short(r.sha256)}; ${r.excluded} excluded; ${how}`,
  };
}

/**
 * The artifact a reproduced build left, when its files are all there and its tar.gz still has
 * the sha256 recorded: building it a third time would prove nothing the second did not.
 */
async function reusable(dir: string, record: BuildRecord | undefined): Promise<boolean> {
  if (record?.reproduced?.by !== TOOL_VERSION) return false;
  const files = buildFiles(dir, record.releaseId);
  try {
    await Promise.all(
      [files.manifestPath, files.linksPath, files.entriesPath].map((f) => fs.promises.access(f)),
    );
    return (await fileSha256(files.path)) === record.sha256;
  } catch {
    return false;
  }
}

/**
 * Builds the artifact into `<workDir>/artifacts` and checks it against any earlier build of the
 * same commit and excludes: a difference there means the build is not reproducible, and blocks.
 * Once a second build has reproduced it, the artifact is reused, its sha256 checked, instead of
 * being built again on every preview and up.
 */
export async function buildArtifact(
  cfg: SourceConfig,
  c: ResolvedCommit,
): Promise<BuiltArtifact | GateFailure> {
  const dir = path.join(cfg.workDir, "artifacts");
  await fs.promises.mkdir(path.join(dir, "builds"), { recursive: true });
  const recordFile = path.join(
    dir,
    "builds",
    `${c.commit}-${sha256(JSON.stringify([...BUILTIN_EXCLUDES, ...cfg.exclude])).slice(0, 16)}.json`,
  );
  const earlier = await fs.promises
    .readFile(recordFile, "utf8")
    .then((s) => JSON.parse(s) as BuildRecord)
    .catch(() => undefined);
  if (earlier && (await reusable(dir, earlier)))
    return artifactOf(
      dir,
      c,
      earlier,
      `reproduced at ${earlier.reproduced!.at}, not built again: its sha256 checked`,
    );

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
  if (earlier && earlier.tarSha256 !== t.tarSha256) {
    await fs.promises.rm(staging, { force: true });
    return {
      gap: `building ${short(c.commit)} again gave a different tar (sha256 ${short(t.tarSha256)}, was ${short(earlier.tarSha256)} at ${earlier.at}): the build is not reproducible`,
      next: "look for export-subst placeholders or attributes that depend on the time or the machine; remove them, commit, run again",
    };
  }
  const releaseId = releaseIdOf(c.commit, t.tarSha256);
  const files = buildFiles(dir, releaseId);
  await fs.promises.rename(staging, files.path);
  await writeAtomic(files.manifestPath, formatManifest(t.manifest));
  await writeAtomic(files.linksPath, formatLinks(t.symlinks));
  await writeAtomic(files.entriesPath, formatEntries(t));
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
  const now = new Date().toISOString();
  const record: BuildRecord = {
    releaseId,
    tarSha256: t.tarSha256,
    sha256: t.sha256,
    bytes: t.bytes,
    unpackedBytes: t.manifest.reduce((n, m) => n + m.size, 0),
    files: t.manifest.length,
    excluded: t.excluded.length,
    at: earlier?.at ?? now,
    reproduced: earlier ? { at: now, by: TOOL_VERSION } : undefined,
  };
  await writeAtomic(recordFile, JSON.stringify(record));
  const repro = !earlier
    ? "first build of this commit"
    : earlier.sha256 === t.sha256
      ? `byte-identical to the build of ${earlier.at}`
      : `tar identical to the build of ${earlier.at}; gzip bytes differ (another zlib)`;
  return artifactOf(dir, c, record, repro);
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
