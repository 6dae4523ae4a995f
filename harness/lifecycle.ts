import { spawn } from "node:child_process";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { SshSession } from "../survey/ssh";
import type { PlannedStep } from "./plan";

type Inputs = Record<string, unknown>;

interface Held {
  type: string;
  inputs: Inputs;
  outputs: Inputs;
}

/** One provider operation, in the order it ran. */
export interface Operation {
  op: "create" | "update" | "replace" | "delete" | "same";
  type: string;
  name: string;
  /** Wall time of the operation, in seconds (0 for "same"). */
  seconds?: number;
}

// Pulumi's marker for a secret value in serialized properties.
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

/** The plain value of a property, with secret wrappers removed at any depth. */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  // Only plain objects: an asset is a class instance whose path is a promise.
  if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    const o = v as Record<string, unknown>;
    if (o[SIG_KEY] === SECRET_SIG) return plain(o.value);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

const COMMAND_TYPES = [
  "command:remote:Command",
  "command:local:Command",
  "command:remote:CopyToRemote",
];

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    x && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b)))
      : x,
  );
}

/**
 * Plays the documented lifecycle of @pulumi/command 1.2.1 against real targets, keeping its
 * state between program runs as a stack does: a new resource runs `create`; a changed input
 * runs `update`, or `create` when there is none; changed `triggers` replace (create the new, then
 * delete the old); a resource no longer registered is deleted at the end of a successful run.
 * Remote commands and copies go over SSH (one connection per operation, as the provider
 * does); local commands run here. A preview runs nothing.
 */
export class CommandLifecycle {
  readonly state = new Map<string, Held>();
  readonly operations: Operation[] = [];
  /** What the last preview would do, in registration order (see `planDeletes`). */
  planned: PlannedStep[] = [];
  sshConnections = 0;
  /**
   * Called before each operation that runs a command or a copy: a test injects a fault there
   * (takes the lock, cuts the connection). Its type and name identify the resource.
   */
  before: (op: { op: string; type: string; name: string }) => void | Promise<void> = () =>
    undefined;
  /** URNs that the next run replaces even when unchanged, as `pulumi up --replace <urn>` does. */
  replace: string[] = [];
  private seen = new Set<string>();
  private failed = false;
  private inFlight = new Set<Promise<unknown>>();
  private fail: (e: Error) => void = () => undefined;
  /** Rejects with the first operation that fails in the current run, as `pulumi up` would. */
  failure: Promise<never> = new Promise(() => undefined);

  /** Mocks for one program run. */
  mocks(
    preview: boolean,
    record: (type: string, name: string, inputs: Inputs) => void,
  ): pulumi.runtime.Mocks {
    this.seen = new Set();
    this.failed = false;
    if (preview) this.planned = [];
    this.failure = new Promise<never>((_, reject) => {
      this.fail = (e) => {
        this.failed = true;
        reject(e);
      };
    });
    this.failure.catch(() => undefined);
    return {
      newResource: async (args) => {
        record(args.type, args.name, args.inputs);
        if (!COMMAND_TYPES.includes(args.type))
          return { id: `${args.name}-id`, state: args.inputs };
        const key = `${args.type}::${args.name}`;
        this.seen.add(key);
        const prior = this.state.get(key);
        const forced = this.replace.some((urn) => urnNames(urn, args.type, args.name));
        const same =
          prior !== undefined && !forced && canonical(prior.inputs) === canonical(args.inputs);
        const replace =
          prior !== undefined &&
          (forced || canonical(prior.inputs.triggers) !== canonical(args.inputs.triggers));
        const op = same ? "same" : prior === undefined ? "create" : replace ? "replace" : "update";
        if (preview)
          this.planned.push({
            op,
            type: args.type,
            name: args.name,
            before: prior?.inputs,
            after: args.inputs,
          });
        if (same) {
          if (!preview) this.operations.push({ op: "same", type: args.type, name: args.name });
          return { id: `${args.name}-id`, state: prior.outputs };
        }
        // A preview shows the change and runs nothing: stdout stays unknown.
        if (preview) return { id: `${args.name}-id`, state: args.inputs };
        // After a failure the engine starts no new operation; those under way finish.
        if (this.failed) throw new Error(`${args.name}: not run, an earlier operation failed`);
        const script =
          op === "update" ? (args.inputs.update ?? args.inputs.create) : args.inputs.create;
        let outputs: Inputs;
        await this.before({ op, type: args.type, name: args.name });
        const started = process.hrtime.bigint();
        const running = this.perform(
          args.type,
          plain(args.inputs) as Inputs,
          script as string | undefined,
        );
        this.inFlight.add(running);
        try {
          // Outputs carry the inputs as registered, secrets still wrapped, as the engine keeps
          // them (encrypted in state); only the command's own output is new.
          const ran = await running;
          outputs = { ...args.inputs };
          if (ran.stdout !== undefined)
            outputs = { ...outputs, stdout: ran.stdout, stderr: ran.stderr };
        } catch (e) {
          this.fail(e as Error);
          throw e;
        } finally {
          this.inFlight.delete(running);
        }
        if (replace) await this.remove(prior);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.operations.push({ op, type: args.type, name: args.name, seconds });
        this.state.set(key, { type: args.type, inputs: args.inputs, outputs });
        return { id: `${args.name}-id`, state: outputs };
      },
      call: (args) => {
        throw new Error(`unexpected invoke ${args.token}`);
      },
    };
  }

  /** Resolves once no operation is running. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Whether an operation of the current run failed. */
  get hasFailed(): boolean {
    return this.failed;
  }

  /** `pulumi destroy`: deletes every resource, newest first. */
  async destroy(): Promise<void> {
    this.seen = new Set();
    await this.finish();
  }

  /** After a preview: what an up would delete, newest first (what the program no longer registers). */
  planDeletes(): void {
    for (const [key, held] of [...this.state.entries()].reverse())
      if (!this.seen.has(key))
        this.planned.push({
          op: "delete",
          type: held.type,
          name: key.split("::")[1],
          before: held.inputs,
        });
  }

  /** After a successful up: deletes, newest first, what the program no longer registers. */
  async finish(): Promise<void> {
    for (const [key, held] of [...this.state.entries()].reverse()) {
      if (this.seen.has(key)) continue;
      await this.remove(held);
      this.state.delete(key);
      this.operations.push({ op: "delete", type: held.type, name: key.split("::")[1] });
    }
  }

  private async remove(held: Held): Promise<void> {
    const del = held.inputs.delete as string | undefined;
    if (held.type !== "command:remote:CopyToRemote" && del)
      await this.perform(held.type, held.inputs, del, false);
  }

  private async perform(
    type: string,
    inputs: Inputs,
    command: string | undefined,
    withStdin = true,
  ): Promise<Inputs> {
    const stdin = withStdin ? ((inputs.stdin as string | undefined) ?? "") : "";
    if (type === "command:local:Command") {
      // A command resource with nothing to run (a state record) runs nothing, as the provider.
      if (command === undefined) return { ...inputs, stdout: "", stderr: "" };
      return check(command, inputs, await runLocal(command, stdin));
    }
    const c = inputs.connection as {
      host: string;
      port: number;
      user: string;
      privateKey: string;
      privateKeyPassword?: string;
      hostKey: string;
    };
    this.sshConnections++;
    const session = await SshSession.connect({
      host: c.host,
      port: c.port,
      user: c.user,
      privateKey: c.privateKey,
      passphrase: c.privateKeyPassword,
      hostKey: c.hostKey,
    });
    try {
      if (type === "command:remote:CopyToRemote") {
        const source = inputs.source as { path: string | Promise<string> };
        const local = await source.path;
        if (typeof local !== "string")
          throw new Error("CopyToRemote: the source is not a FileAsset");
        const remotePath = inputs.remotePath as string;
        const mk = await session.exec(
          `mkdir -p '${path.posix.dirname(remotePath).replace(/'/g, `'\\''`)}'`,
        );
        if (mk.code !== 0)
          throw new Error(
            `CopyToRemote: cannot create the directory of ${remotePath}: ${mk.stderr}`,
          );
        await session.upload(local, remotePath);
        return { ...inputs };
      }
      return check(command, inputs, await session.exec(command ?? "true", Buffer.from(stdin)));
    } finally {
      session.close();
    }
  }
}

/** Whether a URN names the resource of this type and name (the last type of its chain). */
function urnNames(urn: string, type: string, name: string): boolean {
  const parts = urn.split("::");
  return parts[parts.length - 1] === name && parts[parts.length - 2].split("$").pop() === type;
}

function check(
  command: string | undefined,
  inputs: Inputs,
  r: { code: number; stdout: string; stderr: string },
): Inputs {
  // The provider fails the operation on a non-zero exit and prints the command and its output.
  if (r.code !== 0)
    throw new Error(
      `Process exited with status ${r.code}: running "${command}":\n${r.stdout}${r.stderr}`,
    );
  return { ...inputs, stdout: r.stdout.replace(/\n$/, ""), stderr: r.stderr.replace(/\n$/, "") };
}

function runLocal(
  command: string,
  stdin: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", command], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 255, stdout, stderr }));
    // A command that reads no input may exit before it is written: its own status decides.
    child.stdin.on("error", () => undefined);
    child.stdin.end(stdin);
  });
}
