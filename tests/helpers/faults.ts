import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { preamble } from "../../remote/preamble";
import { script } from "../../remote/sh";

const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * A directory of tripwires: commands that stand in front of the system's on a test sshd's PATH.
 * Each runs the real command unless the pattern in `trip` matches its command line; the first
 * call that matches renames `trip` to `tripped` (so it fires once) and waits there, holding the
 * deploy at that exact point until the test cuts the connection.
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
          `if [ -f "$t" ] && printf '%s\\n' "${c} $*" | grep -qE -f "$t" && mv "$t" ${dir}/tripped 2>/dev/null; then exec sleep 600; fi`,
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
    fs.writeFileSync(path.join(this.dir, "trip"), `${pattern}\n`);
  }

  /** Resolves once a command has tripped the wire; rejects after `ms`. */
  async tripped(ms = 60_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!fs.existsSync(path.join(this.dir, "tripped"))) {
      if (Date.now() > deadline) throw new Error(`nothing tripped ${this.dir} within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  disarm(): void {
    fs.rmSync(path.join(this.dir, "trip"), { force: true });
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
