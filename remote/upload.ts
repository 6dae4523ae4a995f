import { q, script } from "./sh";

/**
 * The upload for target local: the artifact copied under a temporary name, then renamed, so
 * an upload that exists is always whole (as CopyToRemote's is once it reports success).
 */
export function localCopyScript(localPath: string, remotePath: string): string {
  const dir = remotePath.slice(0, remotePath.lastIndexOf("/"));
  return script(
    `mkdir -p ${q(dir)}`,
    `cp ${q(localPath)} ${q(`${remotePath}.tmp`)}`,
    `mv ${q(`${remotePath}.tmp`)} ${q(remotePath)}`,
  );
}
