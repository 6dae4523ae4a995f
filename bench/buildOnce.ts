import { buildTarball } from "../gates/artifact/tarball";

// One build in a process of its own, so its peak RSS is the build's alone.
async function main(): Promise<void> {
  const [repo, out] = process.argv.slice(2);
  const t = await buildTarball({ repo, commit: "HEAD", mtime: 0, exclude: [], outPath: out });
  process.stdout.write(
    JSON.stringify({
      bytes: t.bytes,
      files: t.manifest.length,
      maxRssKiB: process.resourceUsage().maxRSS,
    }),
  );
}
void main();
