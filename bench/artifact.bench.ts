import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildTarball } from "../gates/artifact/tarball";
import { generateRepo } from "./generateRepo";

const ROUNDS = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function time(fn: () => unknown): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function peakRss(repo: string): { maxRssKiB: number; bytes: number } {
  const out = path.join(repo, "..", `${path.basename(repo)}-rss.tar.gz`);
  const r = JSON.parse(
    execFileSync(process.execPath, [path.join(__dirname, "buildOnce.js"), repo, out], {
      encoding: "utf8",
    }),
  );
  fs.rmSync(out, { force: true });
  return r;
}

/**
 * Times the artifact build of a 10,000-file, ~100 MB repository against
 * `git archive --format=tar.gz` of the same commit, alternating the two, and prints the
 * ratio of medians. Then compares peak memory on a tree a quarter of the size.
 */
async function main(): Promise<void> {
  const files = Number(process.env.BENCH_FILES ?? 10_000);
  const avg = Number(process.env.BENCH_AVG_BYTES ?? 10_000);
  console.log(`generating ${files} files of ~${avg} bytes...`);
  const repo = generateRepo(files, avg);
  const small = generateRepo(Math.floor(files / 4), avg);
  const out = fs.mkdtempSync(path.join(repo, "..", "ssot-bench-out-"));
  try {
    const ours: number[] = [];
    const git: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      git.push(
        await time(() =>
          execFileSync("git", [
            "-C",
            repo,
            "archive",
            "--format=tar.gz",
            "-o",
            path.join(out, "git.tar.gz"),
            "HEAD",
          ]),
        ),
      );
      ours.push(
        await time(() =>
          buildTarball({
            repo,
            commit: "HEAD",
            mtime: 0,
            exclude: [],
            outPath: path.join(out, "ours.tar.gz"),
          }),
        ),
      );
    }
    const size = fs.statSync(path.join(out, "ours.tar.gz")).size;
    const big = peakRss(repo);
    const little = peakRss(small);
    console.log(
      `artifact build, ${files} files (${(size / 1e6).toFixed(1)} MB gzipped), median of ${ROUNDS}:`,
    );
    console.log(`  git archive --format=tar.gz  ${median(git).toFixed(2)} s`);
    console.log(`  ssot-deploy artifact         ${median(ours).toFixed(2)} s`);
    console.log(
      `  ratio                        ${(median(ours) / median(git)).toFixed(2)}x (target <= 1.5x)`,
    );
    console.log(`peak RSS of one build:`);
    console.log(`  ${Math.floor(files / 4)} files  ${(little.maxRssKiB / 1024).toFixed(0)} MiB`);
    console.log(
      `  ${files} files  ${(big.maxRssKiB / 1024).toFixed(0)} MiB  (x${(big.maxRssKiB / little.maxRssKiB).toFixed(2)} for x4 the data)`,
    );
  } finally {
    for (const d of [repo, small, out]) fs.rmSync(d, { recursive: true, force: true });
  }
}
void main();
