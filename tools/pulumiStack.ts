import { HistoryUpdate } from "./history";
import { ChildProcess } from "node:child_process";
import { CliRun, Engine, runPulumi } from "./engine";

/** What a stack command runs in: the project, and the stack's settings file when not Pulumi.<stack>.yaml. */
export interface StackPlace {
  /** The project directory (Pulumi.yaml). */
  cwd: string;
  /** The stack's settings, when they are not the project's Pulumi.<stack>.yaml. */
  configFile?: string;
}

/** A command the CLI refused or failed: its arguments and everything it printed. */
export class CliFailure extends Error {
  constructor(
    readonly args: readonly string[],
    readonly run: CliRun,
  ) {
    super(`pulumi ${args.join(" ")} exited with ${run.code}:\n${run.stdout}${run.stderr}`);
  }
}

/**
 * One stack, driven through the real CLI exactly as an operator types the commands: config,
 * preview, up, outputs, history, cancel, destroy. Each call is one `pulumi` process.
 */
export class PulumiStack {
  constructor(
    readonly engine: Engine,
    readonly name: string,
    readonly place: StackPlace,
  ) {}

  /**
   * Runs `pulumi <command> --stack <name> <rest>`; `config` adds --config-file when there is
   * one. The stack's flags come before `rest`, which may hold `--` and values after it.
   */
  run(
    command: readonly string[],
    rest: readonly string[] = [],
    opts: {
      config?: boolean;
      input?: string;
      echo?: boolean;
      env?: NodeJS.ProcessEnv;
      started?: (child: ChildProcess) => void;
    } = {},
  ): Promise<CliRun> {
    const file =
      opts.config && this.place.configFile ? ["--config-file", this.place.configFile] : [];
    return runPulumi(this.engine, [...command, "--stack", this.name, ...file, ...rest], {
      cwd: this.place.cwd,
      input: opts.input,
      echo: opts.echo,
      env: opts.env,
      started: opts.started,
    });
  }

  /** Like `run`, throwing a CliFailure on a non-zero exit. */
  async must(
    command: readonly string[],
    rest: readonly string[] = [],
    opts: { config?: boolean; input?: string; echo?: boolean } = {},
  ): Promise<CliRun> {
    const r = await this.run(command, rest, opts);
    if (r.code !== 0) throw new CliFailure([...command, ...rest], r);
    return r;
  }

  /** Selects the stack, creating it (passphrase secrets) when it does not exist yet. */
  async select(): Promise<void> {
    await this.must(["stack", "select"], ["--create", "--secrets-provider", "passphrase"]);
  }

  /** Sets a config value; a secret goes on stdin, never on a command line. */
  async set(key: string, value: string, opts: { secret?: boolean } = {}): Promise<void> {
    if (opts.secret)
      await this.must(["config", "set"], ["--secret", key], { config: true, input: value });
    else await this.must(["config", "set"], [key, "--", value], { config: true });
  }

  /** Removes a config value; removing one that is not set is not an error. */
  async unset(key: string): Promise<void> {
    await this.must(["config", "rm"], [key], { config: true });
  }

  /** `pulumi preview`, non-interactive, with `extra` arguments. */
  preview(extra: readonly string[] = [], echo = false): Promise<CliRun> {
    return this.run(["preview"], ["--non-interactive", ...extra], { config: true, echo });
  }

  /** `pulumi up --yes`, non-interactive, with `extra` arguments. */
  up(extra: readonly string[] = [], echo = false): Promise<CliRun> {
    return this.run(["up"], ["--yes", "--non-interactive", ...extra], { config: true, echo });
  }

  /** The stack's outputs as the last update left them (none of them is secret). */
  async outputs<T = Record<string, unknown>>(): Promise<T> {
    return JSON.parse((await this.must(["stack", "output", "--json"])).stdout) as T;
  }

  /** `pulumi stack history --json`, newest first. */
  async history(): Promise<HistoryUpdate[]> {
    return JSON.parse((await this.must(["stack", "history", "--json"])).stdout) as HistoryUpdate[];
  }
}
