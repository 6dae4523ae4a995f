import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { projectRoot } from "../lib/paths";
import { findEngine, runPulumi } from "../tools/engine";
import { ThrowawayStack } from "./stack";

/**
 * One operator of a team: a machine of their own (a work folder, a PULUMI_HOME of their own
 * whose plugin cache holds the engine's providers), logged in to the team's shared backend,
 * with the stack's settings as the team's repository holds them.
 */
export class Operator {
  private constructor(
    readonly dir: string,
    readonly stack: ThrowawayStack,
  ) {}

  /** The operator's own folder for the deploy's work: artifacts, reports. */
  get workDir(): string {
    return path.join(this.dir, "work");
  }

  /**
   * Logs a new operator in to `backend` (`pulumi login`, with `env` giving its credentials),
   * then makes the stack `name`, or joins it when `salt`, the encryption salt of the stack's
   * committed settings, is given.
   */
  static async join(
    name: string,
    backend: string,
    env: NodeJS.ProcessEnv,
    salt?: string,
  ): Promise<Operator> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssot-operator-"));
    try {
      const home = path.join(dir, "pulumi-home");
      // The engine's plugin cache, copied: the CLI never downloads a provider, and each
      // operator's CLI writes only to its own home.
      fs.cpSync(path.join(findEngine(projectRoot()).home, "plugins"), path.join(home, "plugins"), {
        recursive: true,
      });
      fs.mkdirSync(path.join(dir, "work"));
      const operator = { ...env, PULUMI_HOME: home };
      const engine = findEngine(projectRoot());
      const login = await runPulumi(engine, ["login", backend], {
        cwd: dir,
        env: { ...operator, PULUMI_BACKEND_URL: undefined },
      });
      if (login.code !== 0)
        throw new Error(`pulumi login ${backend} failed:\n${login.stdout}${login.stderr}`);
      const stack = await ThrowawayStack.create(name, { operator, salt });
      return new Operator(dir, stack);
    } catch (e) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Removes the operator's folder and settings; the shared state stays in the backend. */
  remove(): void {
    this.stack.remove();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
