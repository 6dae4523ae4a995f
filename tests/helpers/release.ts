import * as fs from "node:fs";
import * as path from "node:path";
import { buildArtifact, BuiltArtifact } from "../../components/artifactBuild";
import { parseSourceConfig } from "../../components/config";
import { resolveCommit, openRepo } from "../../components/git";
import { uploadPaths } from "../../components/layout";
import { SshSession } from "../../components/ssh";
import { FixtureRepo } from "./repo";

/** Builds the artifact of `ref` in the fixture, as G4 would. */
export async function artifactOf(
  repo: FixtureRepo,
  ref: string,
  workDir: string,
): Promise<BuiltArtifact> {
  const cfg = parseSourceConfig({ repo: repo.dir, testCommand: "true", workDir });
  const commit = await resolveCommit(openRepo(repo.dir), ref);
  const built = await buildArtifact(cfg, commit!);
  if ("gap" in built) throw new Error(built.gap);
  return built;
}

/** Uploads an artifact where the stage script looks for it. */
export async function upload(ssh: SshSession, root: string, a: BuiltArtifact): Promise<void> {
  const up = uploadPaths(root, a.releaseId);
  const r = await ssh.exec(`mkdir -p '${path.dirname(up.artifact)}'`);
  if (r.code !== 0) throw new Error(r.stderr);
  await ssh.upload(a.path, up.artifact);
}

/** Every file under `dir` with its bytes or link target: a byte-for-byte picture of a tree. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    const abs = path.join(dir, rel);
    const st = fs.lstatSync(abs);
    if (st.isSymbolicLink()) out[rel] = `-> ${fs.readlinkSync(abs)}`;
    else if (st.isDirectory()) {
      out[`${rel}/`] = `mode ${(st.mode & 0o777).toString(8)}`;
      for (const e of fs.readdirSync(abs).sort()) walk(rel === "" ? e : `${rel}/${e}`);
    } else
      out[rel] = `mode ${(st.mode & 0o777).toString(8)} ${fs.readFileSync(abs).toString("base64")}`;
  };
  if (fs.existsSync(dir)) walk("");
  return out;
}

/** The manifest and symlink list the stage script needs, read from the built artifact. */
export function manifestsOf(a: BuiltArtifact): { manifest: string; links: string } {
  return {
    manifest: fs.readFileSync(a.manifestPath, "utf8"),
    links: fs.readFileSync(a.linksPath, "utf8"),
  };
}
