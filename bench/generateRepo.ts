import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Deterministic pseudo-random numbers, so every run benchmarks the same tree. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Writes a repository of `files` files averaging `avgBytes` bytes, four in five source-like
 * text and one in five incompressible, spread over 50 × 7 directories, and commits it.
 */
export function generateRepo(files: number, avgBytes: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssot-bench-"));
  const rand = prng(files);
  const words = Array.from({ length: 4000 }, () =>
    Array.from({ length: 3 + Math.floor(rand() * 8) }, () =>
      String.fromCharCode(97 + Math.floor(rand() * 26)),
    ).join(""),
  );
  for (let i = 0; i < files; i++) {
    const sub = path.join(dir, `pkg${i % 50}`, `mod${i % 7}`);
    fs.mkdirSync(sub, { recursive: true });
    const size = Math.floor(avgBytes * (0.2 + rand() * 1.6));
    let data: Buffer;
    if (i % 5 === 0) {
      data = Buffer.alloc(size);
      for (let j = 0; j < size; j += 4)
        data.writeUInt32LE((rand() * 2 ** 32) >>> 0, Math.min(j, size - 4));
    } else {
      const parts: string[] = [];
      let n = 0;
      while (n < size) {
        const w = words[Math.floor(rand() * words.length)];
        parts.push(w);
        n += w.length + 1;
      }
      data = Buffer.from(parts.join(" ").slice(0, size));
    }
    fs.writeFileSync(path.join(sub, `f${i}.txt`), data);
  }
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: "bench",
    GIT_AUTHOR_EMAIL: "bench@example.invalid",
    GIT_COMMITTER_NAME: "bench",
    GIT_COMMITTER_EMAIL: "bench@example.invalid",
  };
  execFileSync("git", ["init", "-q", "-b", "main"], { cwd: dir, env });
  execFileSync("git", ["add", "-A"], { cwd: dir, env });
  execFileSync("git", ["commit", "-q", "-m", "bench"], { cwd: dir, env });
  return dir;
}
