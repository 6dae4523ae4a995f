import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readTree } from "../../lib/paths";
import { SAMPLE_APP_DIR } from "../../tools/sampleRepo";

/** The sample Python service of examples/: a kill-switch that stays off, and unittest tests. */
export const PY_APP: Record<string, string> = readTree(SAMPLE_APP_DIR());

export const PY_TEST_COMMAND = "python3 -m unittest discover -s tests";

/** A git repository in a fresh temporary directory, removed by `remove()`. */
export class FixtureRepo {
  private tick = 0;

  /** Wraps an existing repository, such as a clone made by a test. */
  constructor(public readonly dir: string) {}

  static create(files: Record<string, string> = PY_APP, branch = "main"): FixtureRepo {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssot-fixture-"));
    const repo = new FixtureRepo(dir);
    repo.git("init", "-q", "-b", branch);
    repo.write(files);
    repo.commit("initial");
    return repo;
  }

  git(...args: string[]): string {
    // Fixed identity and dates: the same fixture always yields the same commit ids.
    const date = `2026-01-01T00:00:${String(this.tick).padStart(2, "0")}Z`;
    return execFileSync("git", args, {
      cwd: this.dir,
      encoding: "utf8",
      env: {
        PATH: process.env.PATH,
        HOME: this.dir,
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_AUTHOR_NAME: "Fixture",
        GIT_AUTHOR_EMAIL: "fixture@example.invalid",
        GIT_COMMITTER_NAME: "Fixture",
        GIT_COMMITTER_EMAIL: "fixture@example.invalid",
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_DATE: date,
      },
    }).trim();
  }

  write(files: Record<string, string>): void {
    for (const [rel, content] of Object.entries(files)) {
      const file = path.join(this.dir, rel);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
    }
  }

  /** Stages everything and commits; returns the new commit id. */
  commit(message: string, files?: Record<string, string>): string {
    if (files) this.write(files);
    this.tick++;
    this.git("add", "-A");
    this.git("commit", "-q", "--allow-empty", "-m", message);
    return this.head();
  }

  head(): string {
    return this.git("rev-parse", "HEAD");
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export function tempDir(prefix = "ssot-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
