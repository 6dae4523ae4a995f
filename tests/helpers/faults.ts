import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { preamble } from "../../remote/preamble";
import { script } from "../../remote/sh";

const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * A directory of tripwires: commands that stand in front of the system's on a test sshd's PATH.
 * Each runs the real command unless the pattern in `trip` matches its command line; the first
 * call that matches renames `trip` to `tripped` (so it fires once) and waits until `release()`,
 * holding the deploy at that exact point, as a slow step on the server would, then runs the
 * real command. A test may cut the connection or kill the CLI while it is held.
 */
export class Tripwires {
  readonly path: string;

  constructor(
    readonly dir: string,
    commands: readonly string[],
  ) {
    this.path = `${dir}:${SYSTEM_PATH}`;
    for (const c of commands) {
      const shim = path.join(dir, c);
      fs.writeFileSync(
        shim,
        [
          "#!/bin/sh",
          `t=${dir}/trip`,
          `if [ -f "$t" ] && printf '%s\\n' "${c} $*" | grep -qE -f "$t" && mv "$t" ${dir}/tripped 2>/dev/null; then`,
          `  while [ ! -f ${dir}/go ]; do sleep 0.1; done`,
          "fi",
          `PATH=${SYSTEM_PATH} exec ${c} "$@"`,
          "",
        ].join("\n"),
        { mode: 0o755 },
      );
    }
  }

  /** Arms the wire for the next command line matching `pattern` (an ERE). */
  arm(pattern: string): void {
    fs.rmSync(path.join(this.dir, "tripped"), { force: true });
    fs.rmSync(path.join(this.dir, "go"), { force: true });
    fs.writeFileSync(path.join(this.dir, "trip"), `${pattern}\n`);
  }

  /** Resolves once a command has tripped the wire; rejects after `ms`. */
  tripped(ms = 120_000): Promise<void> {
    return until(() => fs.existsSync(path.join(this.dir, "tripped")), ms, `a trip in ${this.dir}`);
  }

  /** Lets the held command run on: the slow step ends. */
  release(): void {
    fs.writeFileSync(path.join(this.dir, "go"), "");
  }

  /** Fires no more, and lets go of anything still held, so that no command waits forever. */
  disarm(): void {
    fs.rmSync(path.join(this.dir, "trip"), { force: true });
    this.release();
  }
}

/** Resolves once `holds()` is true, polling; rejects naming `what` after `ms`. */
export async function until(holds: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!holds()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The live release, and whether its files match its manifest, checked by the deploy's own verify. */
export function liveRelease(root: string): { id: string; complete: boolean } {
  const id = path.basename(fs.readlinkSync(path.join(root, "current")));
  try {
    execFileSync("sh", [
      "-c",
      script(
        ...preamble(root),
        `verify_release "$CURRENT/" "$MANIFESTS/${id}.sha256sums" "$MANIFESTS/${id}.links"`,
      ),
    ]);
    return { id, complete: true };
  } catch {
    return { id, complete: false };
  }
}

/** Paths under the deploy root that only an unfinished run leaves: temporaries and the lock. */
export function leftovers(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const p = rel === "" ? e.name : `${rel}/${e.name}`;
      if (/\.tmp-|^\.drifted-|^\.lock-|^lock$/.test(e.name)) out.push(p);
      else if (e.isDirectory() && p !== "releases") walk(p);
    }
  };
  walk("");
  for (const e of fs.readdirSync(path.join(root, "releases")))
    if (e.startsWith(".")) out.push(`releases/${e}`);
  return out.sort();
}

/** The deploy lock's fields (token, pid, ...), or undefined when no lock is held. */
export function lockInfo(root: string): Record<string, string> | undefined {
  const file = path.join(root, ".deploy", "lock", "info");
  if (!fs.existsSync(file)) return undefined;
  return Object.fromEntries(
    fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

/** A process of this machine, from /proc. */
export interface Proc {
  pid: number;
  ppid: number;
  /** Its process group: what a terminal's kill -9 -<pgid> or Ctrl-C reaches. */
  pgid: number;
  command: string;
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const [state, ppid, pgid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (state === "Z" || state === "X") return undefined;
    const command = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
    return { pid, ppid: Number(ppid), pgid: Number(pgid), command };
  } catch {
    return undefined;
  }
}

/** Whether `pid` is running (a zombie, ended but not yet reaped, is not). */
export function running(pid: number): boolean {
  return readProc(pid) !== undefined;
}

/** The process `pid` itself, then every process under it, parents before children. */
export function processTree(pid: number): Proc[] {
  const all = fs
    .readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .map((e) => readProc(Number(e)))
    .filter((p): p is Proc => p !== undefined);
  const out = all.filter((p) => p.pid === pid);
  for (let i = 0; i < out.length; i++) out.push(...all.filter((p) => p.ppid === out[i].pid));
  return out;
}

/** Ends, by pid, those of `procs` still running: what a killed CLI left behind on this machine. */
export function endLeftBehind(procs: readonly Proc[]): void {
  for (const p of procs)
    if (running(p.pid))
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        // It ended meanwhile.
      }
}

/** The lock files the file backend under `backendDir` holds: what `pulumi cancel` removes. */
export function backendLocks(backendDir: string): string[] {
  const dir = path.join(backendDir, ".pulumi", "locks");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".json"))
    .map((f) => path.join(dir, f));
}

/**
 * What the CLI prints when it finds the stack locked by the lock file `lock`, taken by the CLI
 * process `pid` of this user on this machine. Only the time is read from the file: the CLI
 * prints it to the second (RFC 3339), in the zone the file records it in.
 */
export function lockedOut(lock: string, pid: number): string {
  const { timestamp } = JSON.parse(fs.readFileSync(lock, "utf8")) as { timestamp: string };
  return [
    "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.",
    `  file://${lock}?no_tmp_dir=true: created by ${os.userInfo().username}@${os.hostname()} (pid ${pid}) at ${timestamp.replace(/\.\d+/, "")}`,
    "",
  ].join("\n");
}

/** `text` as a regular expression that matches it literally. */
export function literally(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
