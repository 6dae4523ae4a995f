import * as pulumi from "@pulumi/pulumi";
import type { ChangeSet } from "../gates/changeSet";
import type { GateResult } from "../gates/gateRun";

/** What a blocked run knew: the way out, what it left alone, and the change set if G1 ran. */
export interface BlockedContext {
  next: string;
  unchanged: string;
  changeSet?: ChangeSet;
}

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
export class ConfigError extends pulumi.RunError {
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

/**
 * Raised when a gate blocks. Its message is the whole blocked report (gap, gate table, next
 * action), which is also what `pulumi preview` and `pulumi up` print.
 */
export class BlockedError extends pulumi.RunError {
  constructor(
    message: string,
    public readonly gap: string,
    /** Every gate's result, the failing one included. */
    public readonly gates: readonly GateResult[] = [],
    /** The failing gate's next action, and what the run had surveyed when it blocked. */
    public readonly context: BlockedContext = { next: "", unchanged: "" },
  ) {
    super(message);
    this.name = "BlockedError";
  }
}
