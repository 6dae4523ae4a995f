import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { TestSshd } from "../testbed/sshd";

/** Clock ticks a second, the unit of /proc's CPU times. */
const TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/**
 * The CPU seconds (user and system) of every child `pid` has waited for, theirs included, as
 * the kernel counts them in /proc/<pid>/stat (cutime and cstime, fields 16 and 17).
 */
export function waitedCpu(pid: number | "self"): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may hold spaces: the fields are counted from after its ")", at field 3.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[16 - 3]) + Number(f[17 - 3])) / TICKS;
}

/**
 * The CPU a test sshd's sessions have used: the server waits for each session it started, so
 * its children's times hold every session's, once the session has ended.
 */
export function serverCpu(sshd: TestSshd): number {
  return waitedCpu(Number(fs.readFileSync(path.join(sshd.dir, "sshd.pid"), "utf8").trim()));
}

/** Waits until no session of `servers` is left, so that the CPU each used is counted. */
export async function sessionsEnded(servers: readonly TestSshd[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (servers.some((s) => s.sessionProcesses().length > 0)) {
    if (Date.now() > deadline) throw new Error("a server's session was still running after 10 s");
    await new Promise((r) => setTimeout(r, 50));
  }
}
