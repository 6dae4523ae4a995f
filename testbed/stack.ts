import { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { SECRET_KEYS } from "../config/stack";
import { projectRoot } from "../lib/paths";
import { findEngine } from "../tools/engine";
import { PulumiStack } from "../tools/pulumiStack";
import { HistoryUpdate } from "../tools/history";
import { EngineRun, readEvents } from "./events";

const ROOT = projectRoot();
/** A passphrase for throwaway stacks: their state is deleted with them. */
const PASSPHRASE = "ssot-deploy test stack";

/** The types Pulumi.yaml declares as lists or objects: their values are written as YAML. */
function structuredKeys(): Set<string> {
  const project = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
    config: Record<string, { type?: string }>;
  };
  return new Set(
    Object.entries(project.config)
      .filter(([, v]) => v.type === "array" || v.type === "object")
      .map(([k]) => k),
  );
}

/**
 * A stack of this project on a throwaway file backend, for the tests and the benchmark, driven
 * through the real CLI as an operator types it: its settings in a file of its own
 * (`--config-file`), so the project's folder is left as it was; secrets set with
 * `pulumi config set --secret`, so they are encrypted in the settings and the state as on a
 * real stack.
 */
export class ThrowawayStack {
  readonly stack: PulumiStack;
  private readonly secure = new Map<string, { value: string; cipher: unknown }>();
  private salt = "";
  private events = 0;

  private constructor(
    readonly name: string,
    readonly dir: string,
    /** Whether the settings are the project's own Pulumi.<stack>.yaml, as an operator's are. */
    readonly inProject = false,
    /** The project the CLI runs in: this one, unless a benchmark runs a variant of it. */
    readonly project = ROOT,
    /** An operator's own environment (PULUMI_HOME, the backend it logged in to), if not a file backend of its own. */
    operator?: NodeJS.ProcessEnv,
  ) {
    const engine = findEngine(ROOT);
    const env: NodeJS.ProcessEnv = {
      ...engine.env,
      PULUMI_BACKEND_URL: `file://${this.backendDir}`,
      ...operator,
      PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
      PULUMI_DEBUG_COMMANDS: "true",
    };
    delete env.PULUMI_CONFIG_PASSPHRASE_FILE;
    if (operator) delete env.PULUMI_BACKEND_URL;
    if (operator?.PULUMI_HOME) engine.home = operator.PULUMI_HOME;
    this.stack = new PulumiStack({ ...engine, env }, name, {
      cwd: project,
      configFile: inProject ? undefined : this.configFile,
    });
  }

  /** The stack's encryption salt, which its settings file holds: a second operator needs it. */
  get encryptionSalt(): string {
    return this.salt;
  }

  get backendDir(): string {
    return path.join(this.dir, "backend");
  }

  get configFile(): string {
    return path.join(this.inProject ? this.project : this.dir, `Pulumi.${this.name}.yaml`);
  }

  /** The environment the stack's CLI runs in: the engine's, its backend and its passphrase. */
  get env(): NodeJS.ProcessEnv {
    return this.stack.engine.env;
  }

  /**
   * A new stack (`pulumi stack init` with passphrase secrets) on a new file backend. With
   * `inProject` its settings are the project's Pulumi.<stack>.yaml (removed with the stack), so
   * that commands typed without --config-file find them. With `operator`, the stack runs in
   * that environment, on the backend its PULUMI_HOME has logged in to; with `salt` too, it is
   * not made but joined, as a second operator's checkout holds the settings the first committed.
   */
  static async create(
    name = `t${randomBytes(4).toString("hex")}`,
    opts: {
      inProject?: boolean;
      project?: string;
      operator?: NodeJS.ProcessEnv;
      salt?: string;
    } = {},
  ): Promise<ThrowawayStack> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssot-stack-"));
    const s = new ThrowawayStack(name, dir, opts.inProject, opts.project, opts.operator);
    fs.mkdirSync(s.backendDir);
    if (opts.salt !== undefined) {
      s.salt = opts.salt;
      fs.writeFileSync(s.configFile, yaml.dump({ encryptionsalt: s.salt }));
      return s;
    }
    // stack init writes the stack's encryption salt to Pulumi.<stack>.yaml in the project; it
    // moves to this stack's own settings file, so the project folder is left as it was.
    const projectFile = path.join(s.project, `Pulumi.${name}.yaml`);
    try {
      await s.stack.must(["stack", "init"], ["--secrets-provider", "passphrase", "--no-select"]);
      const made = yaml.load(fs.readFileSync(projectFile, "utf8")) as { encryptionsalt: string };
      s.salt = made.encryptionsalt;
    } finally {
      if (!opts.inProject) fs.rmSync(projectFile, { force: true });
    }
    fs.writeFileSync(s.configFile, yaml.dump({ encryptionsalt: s.salt }));
    return s;
  }

  /** Writes the stack's settings: `config` keys without the project prefix, as strings. */
  async configure(config: Record<string, string>): Promise<void> {
    const structured = structuredKeys();
    const plain: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(config)) {
      if (SECRET_KEYS.includes(k)) continue;
      let value: unknown = v;
      if (structured.has(k))
        try {
          value = JSON.parse(v);
        } catch {
          // Left as text: the CLI refuses it as the wrong type, as it would a hand-written one.
        }
      plain[`ssot-deploy:${k}`] = value;
    }
    const write = () => {
      const secure: Record<string, unknown> = {};
      for (const k of SECRET_KEYS)
        if (config[k] !== undefined && this.secure.get(k)?.value === config[k])
          secure[`ssot-deploy:${k}`] = this.secure.get(k)!.cipher;
      fs.writeFileSync(
        this.configFile,
        yaml.dump(
          { encryptionsalt: this.salt, config: { ...plain, ...secure } },
          { lineWidth: -1 },
        ),
      );
    };
    write();
    for (const k of SECRET_KEYS) {
      const value = config[k];
      if (value === undefined || this.secure.get(k)?.value === value) continue;
      await this.stack.set(k, value, { secret: true });
      const doc = yaml.load(fs.readFileSync(this.configFile, "utf8")) as {
        config: Record<string, unknown>;
      };
      this.secure.set(k, { value, cipher: doc.config[`ssot-deploy:${k}`] });
    }
    write();
  }

  /** Runs a preview, up, destroy or refresh with an event log, and reads it. */
  private async operate(
    command: string,
    extra: readonly string[],
    started?: (child: ChildProcess) => void,
  ): Promise<EngineRun> {
    const log = path.join(this.dir, `events-${++this.events}.jsonl`);
    // --yes answers the confirmation, which a preview and a destroy's preview-only never ask.
    const args = command === "preview" || extra.includes("--preview-only") ? [] : ["--yes"];
    const r = await this.stack.run(
      [command],
      ["--non-interactive", ...args, "--event-log", log, ...extra],
      { config: true, started },
    );
    const read = fs.existsSync(log)
      ? readEvents(fs.readFileSync(log, "utf8"))
      : { steps: [], diagnostics: [], outputs: undefined };
    fs.rmSync(log, { force: true });
    const errors = read.diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
    return {
      ...r,
      ...read,
      outputs: r.code === 0 ? read.outputs : undefined,
      error:
        r.code === 0
          ? undefined
          : new Error(errors.length > 0 ? errors.join("\n") : `${r.stdout}${r.stderr}`),
      resources: read.steps.filter(
        (s) => s.type !== "pulumi:pulumi:Stack" && !s.type.startsWith("pulumi:providers:"),
      ),
    };
  }

  /** `pulumi preview` with these settings. */
  async preview(config: Record<string, string>, extra: readonly string[] = []): Promise<EngineRun> {
    await this.configure(config);
    return this.operate("preview", extra);
  }

  /** `pulumi up --yes` with these settings (the CLI previews first unless `--skip-preview`). */
  async up(config: Record<string, string>, extra: readonly string[] = []): Promise<EngineRun> {
    await this.configure(config);
    return this.operate("up", extra);
  }

  /**
   * `pulumi up --yes` started in the background: `child` is the CLI's process (a test may kill
   * it), `done` resolves when it has ended, however it ended.
   */
  async startUp(
    config: Record<string, string>,
    extra: readonly string[] = [],
  ): Promise<{ child: ChildProcess; done: Promise<EngineRun> }> {
    await this.configure(config);
    let child!: ChildProcess;
    const done = this.operate("up", extra, (c) => (child = c));
    return { child, done };
  }

  /** `pulumi destroy --yes` with the settings last written. */
  destroy(extra: readonly string[] = []): Promise<EngineRun> {
    return this.operate("destroy", extra);
  }

  /** `pulumi cancel --yes`: removes the lock a killed update left. */
  async cancel(): Promise<void> {
    await this.stack.must(["cancel"], ["--yes"]);
  }

  /** `pulumi stack history --json`, newest first. */
  history(): Promise<HistoryUpdate[]> {
    return this.stack.history();
  }

  /** The stack's state as `pulumi stack export` prints it (secrets stay encrypted). */
  async exportState(): Promise<string> {
    return (await this.stack.must(["stack", "export"])).stdout;
  }

  /** Deletes the stack's backend and settings. */
  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
    if (this.inProject) fs.rmSync(this.configFile, { force: true });
  }
}
