import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Where `npm run engine` builds the engine: bin/ and the PULUMI_HOME home/. */
export const ENGINE_DIR = ".ssot-deploy/engine";
/** The file backend `npm run local` keeps its stack in, and the default when none is chosen. */
export const LOCAL_BACKEND_DIR = ".ssot-deploy/state";
/** That backend's passphrase, generated once (mode 600). */
export const LOCAL_PASSPHRASE_FILE = ".ssot-deploy/passphrase";

/** The Pulumi CLI this project runs, and the environment it runs in. */
export interface Engine {
  cli: string;
  env: NodeJS.ProcessEnv;
  /** The PULUMI_HOME it reads its login and plugins from. */
  home: string;
}

/** The engine is not there: says what is missing and the two ways to get one. */
export class EngineMissing extends Error {}

/**
 * The engine `npm run engine` built under `<root>/.ssot-deploy/engine` (or $SSOT_ENGINE_DIR),
 * in an environment of its own: its bin/ first on PATH (the language host must sit beside
 * pulumi), its own PULUMI_HOME (whose plugin cache holds the command provider, so ~/.pulumi is
 * never touched), no update check, and no plugin taken from PATH. $SSOT_PULUMI names a CLI of
 * the user's own instead, run with the user's PULUMI_HOME: an official CLI fetches its plugins.
 */
export function findEngine(root: string, base: NodeJS.ProcessEnv = process.env): Engine {
  const env: NodeJS.ProcessEnv = { ...base, PULUMI_SKIP_UPDATE_CHECK: "true" };
  if (base.SSOT_PULUMI) {
    if (!fs.existsSync(base.SSOT_PULUMI))
      throw new EngineMissing(
        `SSOT_PULUMI names ${base.SSOT_PULUMI}, which does not exist; set it to the path of a pulumi CLI, or unset it to use the one npm run engine builds`,
      );
    const home = base.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi");
    return { cli: base.SSOT_PULUMI, env, home };
  }
  const dir = path.resolve(root, base.SSOT_ENGINE_DIR ?? ENGINE_DIR);
  const bin = path.join(dir, "bin");
  const cli = path.join(bin, "pulumi");
  for (const piece of ["pulumi", "pulumi-language-nodejs", "pulumi-resource-command"])
    if (!fs.existsSync(path.join(bin, piece)))
      throw new EngineMissing(
        `the Pulumi engine is not built: ${path.join(bin, piece)} is missing; run npm run engine ` +
          "(it builds the CLI, the Node.js language host and the command provider from source), " +
          "or set SSOT_PULUMI to the path of a pulumi CLI you have",
      );
  const home = path.join(dir, "home");
  return {
    cli,
    home,
    env: {
      ...env,
      PATH: [bin, ...(base.PATH ?? "").split(path.delimiter).filter((p) => p !== "")].join(
        path.delimiter,
      ),
      PULUMI_HOME: home,
      PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
    },
  };
}

/** The backend the engine's own login names, if it has logged in to one. */
function loggedIn(engine: Engine): string | undefined {
  try {
    const creds = JSON.parse(
      fs.readFileSync(path.join(engine.home, "credentials.json"), "utf8"),
    ) as { current?: string };
    return creds.current || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The engine with a backend: $PULUMI_BACKEND_URL when set, else the one it has logged in to,
 * else the project's own file backend (where `npm run local` keeps the local stack), with that
 * backend's passphrase file unless a passphrase is given.
 */
export function withBackend(engine: Engine, root: string): Engine & { backend: string } {
  const chosen = engine.env.PULUMI_BACKEND_URL || loggedIn(engine);
  if (chosen) return { ...engine, backend: chosen };
  return withLocalBackend(engine, root);
}

/** The engine on the project's own file backend: what `npm run local` chooses for itself. */
export function withLocalBackend(engine: Engine, root: string): Engine & { backend: string } {
  const backend = `file://${path.join(root, LOCAL_BACKEND_DIR)}`;
  const env: NodeJS.ProcessEnv = { ...engine.env, PULUMI_BACKEND_URL: backend };
  const passphrase = path.join(root, LOCAL_PASSPHRASE_FILE);
  if (
    env.PULUMI_CONFIG_PASSPHRASE === undefined &&
    env.PULUMI_CONFIG_PASSPHRASE_FILE === undefined &&
    fs.existsSync(passphrase)
  )
    env.PULUMI_CONFIG_PASSPHRASE_FILE = passphrase;
  return { ...engine, env, backend };
}

/** What one run of the CLI printed, and how it ended. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI with `args` in `cwd` (the project: it reads Pulumi.yaml there), `input` on its
 * stdin; output is captured, and also passed through when `echo` is set.
 */
export function runPulumi(
  engine: Engine,
  args: readonly string[],
  opts: {
    cwd: string;
    input?: string;
    echo?: boolean;
    env?: NodeJS.ProcessEnv;
    /** Called with the CLI's process as soon as it starts (a test may signal it). */
    started?: (child: ChildProcess) => void;
  },
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(engine.cli, args, {
      cwd: opts.cwd,
      env: { ...engine.env, ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    opts.started?.(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (opts.echo) process.stdout.write(d);
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (opts.echo) process.stderr.write(d);
    });
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({ code: code ?? (signal ? 128 : 255), stdout, stderr }),
    );
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}
