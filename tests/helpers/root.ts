import type { Context } from "mocha";

/**
 * Skips the running test unless this process is root: what the test does to the machine (add a
 * login user, mount a small tmpfs) needs root, which CI has. As root it never skips, so a user
 * that cannot be added or a disk that cannot be mounted fails the test instead of hiding it.
 * The only way a test here is skipped (tests/skips.test.ts holds every test to it).
 */
export function rootOnly(test: Context): void {
  if (process.getuid?.() !== 0) test.skip();
}
