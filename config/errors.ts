import { Refusal } from "../lib/refusal";

/** One config problem: the key, the rule it breaks, and the command that fixes it. */
export interface ConfigProblem {
  key: string;
  rule: string;
  got?: string;
  fix: string;
}

/**
 * Raised before any resource exists when config is missing or ill-typed. A RunError so that
 * Pulumi prints the message alone, without the program's stack trace.
 */
export class ConfigError extends Refusal {
  constructor(public readonly problems: ConfigProblem[]) {
    super(formatConfigProblems(problems));
    this.name = "ConfigError";
  }
}

export function formatConfigProblems(problems: ConfigProblem[]): string {
  const lines = problems.map((p) => {
    const got = p.got === undefined ? "" : ` (got ${p.got})`;
    return `- config key "${p.key}" must be ${p.rule}${got}. Fix: ${p.fix}`;
  });
  return [
    `BLOCKED: invalid configuration, ${problems.length} problem(s). Nothing was changed.`,
    ...lines,
  ].join("\n");
}
