import { Refusal } from "../lib/refusal";
import type { ChangeSet } from "./gate";
import { gate, GATE_NAMES, GateFailure, GateId, GateResult } from "./gate";

/**
 * Renders gates as a fixed-width table, for logs and blocked reports, in the order they ran
 * (G0 on this machine, G0 on each server, G2, G1, G3, G4, then G5 to G7).
 */
export function renderGateTable(gates: readonly GateResult[]): string {
  const width = Math.max(...gates.map((g) => g.name.length));
  return gates
    .map((g) => `${g.id} ${g.name.padEnd(width)}  ${g.status.padEnd(7)}  ${g.detail}`)
    .join("\n");
}

/**
 * The text of a blocked run, in the seed report's order: the result, the exact gap, what
 * was changed (nothing), the gates, and the next action.
 */
export function renderBlocked(
  gates: readonly GateResult[],
  failure: GateFailure,
  unchanged: string,
): string {
  return [
    "FINAL RESULT: BLOCKED_WITH_EXACT_GAP",
    `exact gap: ${failure.gap}`,
    `changed: nothing. ${unchanged}`,
    "gates:",
    renderGateTable(gates)
      .split("\n")
      .map((l) => `  ${l}`)
      .join("\n"),
    `next action: ${failure.next}`,
  ].join("\n");
}

/**
 * Runs gates in order. The first failure stops the run: every later gate is SKIPPED and a
 * BlockedError carries the report. Each step returns its PASS detail or a GateFailure.
 */
export class GateRun {
  readonly results: GateResult[] = [];
  /** Set once G1 has surveyed it, so that a later block can still report it. */
  changeSet?: ChangeSet;

  constructor(
    private readonly order: readonly GateId[],
    /** What a blocked report says was touched; asked at the moment of blocking. */
    private readonly unchanged: () => string,
    /** Where progress goes as it happens: each gate's start and end, a long gate's heartbeat. */
    readonly progress: (line: string) => void = () => undefined,
  ) {}

  /**
   * Runs one gate (or one part of it, `what`), saying when it starts and, with its duration,
   * how it ended, so that a long run is never silent.
   */
  async step<T>(id: GateId, what: string, body: () => Promise<T>): Promise<T> {
    const name = `${id} ${GATE_NAMES[id]} (${what})`;
    const started = Date.now();
    const took = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
    this.progress(`${name}: started`);
    try {
      const out = await body();
      this.progress(`${name}: done in ${took()}`);
      return out;
    } catch (e) {
      this.progress(`${name}: ${e instanceof BlockedError ? "BLOCKED" : "failed"} after ${took()}`);
      throw e;
    }
  }

  pass(id: GateId, detail: string): void {
    this.results.push(gate(id, "PASS", detail));
  }

  skip(id: GateId, detail: string): void {
    this.results.push(gate(id, "SKIPPED", detail));
  }

  /** Records the failure, marks every gate not yet run as SKIPPED, and throws. */
  block(id: GateId, failure: GateFailure): never {
    this.results.push(gate(id, "FAIL", failure.gap));
    const done = new Set(this.results.map((r) => r.id));
    for (const later of this.order) {
      if (!done.has(later)) this.results.push(gate(later, "SKIPPED", `not run: blocked at ${id}`));
    }
    const unchanged = this.unchanged();
    throw new BlockedError(
      renderBlocked(this.results, failure, unchanged),
      failure.gap,
      this.results,
      {
        next: failure.next,
        unchanged,
        changeSet: this.changeSet,
      },
    );
  }
}

/** What a blocked run knew: the way out, what it left alone, and the change set if G1 ran. */
export interface BlockedContext {
  next: string;
  unchanged: string;
  changeSet?: ChangeSet;
}

/**
 * Raised when a gate blocks. Its message is the whole blocked report (gap, gate table, next
 * action), which is also what `pulumi preview` and `pulumi up` print.
 */
export class BlockedError extends Refusal {
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
