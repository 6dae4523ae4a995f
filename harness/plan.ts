/** What a preview would do to one command resource, and its inputs before and after. */
export interface PlannedStep {
  op: "create" | "update" | "replace" | "delete" | "same";
  type: string;
  name: string;
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
}

const SIGN = { create: "+", update: "~", replace: "+-", delete: "-", same: " " } as const;

/** One input as a line shows it: a value as JSON, a script by its number of lines. */
function shown(v: unknown): string {
  if (typeof v === "string" && v.includes("\n")) return `(${v.split("\n").length} lines)`;
  return JSON.stringify(v) ?? "undefined";
}

/** Each input that differs, an environment variable by its own name. */
function changes(before: Record<string, unknown> = {}, after: Record<string, unknown> = {}) {
  const out: string[] = [];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  for (const k of keys) {
    // The connection holds the SSH key, a secret: never shown, as the engine shows [secret].
    if (k === "connection") continue;
    const [b, a] = [before[k], after[k]];
    if (k === "environment") {
      out.push(
        ...changes(b as Record<string, unknown>, a as Record<string, unknown>).map(
          (l) => `environment.${l}`,
        ),
      );
      continue;
    }
    if (JSON.stringify(b) === JSON.stringify(a)) continue;
    if (b === undefined) out.push(`${k}: ${shown(a)}`);
    else if (a === undefined) out.push(`${k}: ${shown(b)} => (removed)`);
    else if (shown(b) === shown(a)) out.push(`${k}: changed ${shown(a)}`);
    else out.push(`${k}: ${shown(b)} => ${shown(a)}`);
  }
  return out;
}

/**
 * What a preview would do to each command resource that it changes, with each changed input:
 * the state tree's declared state, as the harness diffs it from the same inputs the engine
 * would diff. Unchanged resources are counted, not listed.
 */
export function renderPlan(steps: readonly PlannedStep[]): string {
  const changed = steps.filter((s) => s.op !== "same");
  const lines = changed.flatMap((s) => [
    `${SIGN[s.op]} ${s.name} (${s.type}): ${s.op}`,
    ...(s.op === "delete" ? [] : changes(s.before, s.after).map((l) => `    ${l}`)),
  ]);
  const same = steps.length - changed.length;
  return [...lines, `  ${same} unchanged`].join("\n");
}
