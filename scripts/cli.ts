import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { BlockedError } from "../gates/gateRun";
import { ConfigError } from "../config/errors";

/** Exit statuses, the same for every command: ok, refused (or a check failed), usage. */
export const EXIT = { ok: 0, refused: 1, usage: 2 } as const;

/** A problem with the command line itself: printed with the usage, exit 2. */
export class UsageError extends Error {}

/** One option: its type, what it takes, and what it is for. */
export interface OptionSpec {
  type: "string" | "boolean";
  /** What the value is, as the usage line shows it: `<stack>`, `<file>`. */
  value?: string;
  description: string;
  /** Whether the command refuses to run without it. */
  required?: boolean;
}

/** A command: its name after `npm run`, what it does, and its options. */
export interface CommandSpec {
  name: string;
  summary: string;
  /** A positional argument the command takes first (`status|release`), if any. */
  positional?: { value: string; description: string; choices: readonly string[] };
  options: Record<string, OptionSpec>;
}

/** The usage text `--help` prints, and a usage error ends with. Exported for testing. */
export function usage(spec: CommandSpec): string {
  const arg = (name: string, o: OptionSpec) =>
    `--${name}${o.type === "string" ? ` ${o.value ?? "<value>"}` : ""}`;
  const line = [
    `usage: npm run ${spec.name} --`,
    ...(spec.positional ? [spec.positional.value] : []),
    ...Object.entries(spec.options).map(([n, o]) => (o.required ? arg(n, o) : `[${arg(n, o)}]`)),
  ].join(" ");
  const width = Math.max(...Object.entries(spec.options).map(([n, o]) => arg(n, o).length), 6);
  return [
    line,
    "",
    spec.summary,
    "",
    ...(spec.positional
      ? [`  ${spec.positional.value.padEnd(width)}  ${spec.positional.description}`]
      : []),
    ...Object.entries(spec.options).map(
      ([n, o]) => `  ${arg(n, o).padEnd(width)}  ${o.description}`,
    ),
    `  ${"--help".padEnd(width)}  this text`,
    "",
    "exit status: 0 done, 1 refused or a check failed, 2 a usage error",
  ].join("\n");
}

/** Parses the command line against the spec; throws a UsageError naming what is wrong. */
export function parseCommandLine(spec: CommandSpec, argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: spec.positional !== undefined,
      options: {
        ...Object.fromEntries(Object.entries(spec.options).map(([n, o]) => [n, { type: o.type }])),
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return { help: true as const, values, positional: undefined };
  for (const [n, o] of Object.entries(spec.options))
    if (o.required && values[n] === undefined) throw new UsageError(`--${n} is required`);
  const positional = parsed.positionals[0];
  if (spec.positional && !spec.positional.choices.includes(positional ?? ""))
    throw new UsageError(
      `the first argument must be one of ${spec.positional.choices.join(", ")}${positional ? `, not ${positional}` : ""}`,
    );
  return { help: false as const, values, positional };
}

/**
 * Reads a file an option names; a missing or unreadable one is a usage error that names it and
 * what to pass instead.
 */
export function readOptionFile(option: string, file: string, instead: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    const why =
      (e as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : "cannot be read";
    throw new UsageError(`--${option} ${file} ${why}; ${instead}`);
  }
}

/**
 * Runs a command: `--help` prints the usage; a usage error prints itself and the usage (exit
 * 2); a refusal (a blocked gate, invalid config) prints its text (exit 1); `main` returns the
 * status otherwise.
 */
export function runCommand(
  spec: CommandSpec,
  main: (
    values: Record<string, string | boolean | undefined>,
    positional?: string,
  ) => Promise<number>,
): void {
  const done = (code: number) => process.exit(code);
  let line;
  try {
    line = parseCommandLine(spec, process.argv.slice(2));
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${usage(spec)}`);
    return done(EXIT.usage);
  }
  if (line.help) {
    console.log(usage(spec));
    return done(EXIT.ok);
  }
  main(line.values, line.positional).then(done, (e: Error) => {
    if (e instanceof UsageError) {
      console.error(`${e.message}\n\n${usage(spec)}`);
      return done(EXIT.usage);
    }
    console.error(
      e instanceof BlockedError || e instanceof ConfigError ? e.message : `error: ${e.message}`,
    );
    done(EXIT.refused);
  });
}
