/**
 * What the reliability suites measured, gathered while they run and printed by the reporter
 * at the end: each bad input tried, each fault injected, and whether a deploy was lost.
 */
export interface Tally {
  /** Bad inputs tried, by category; `held` counts those refused exactly, server unchanged. */
  inputs: { category: string; held: boolean }[];
  /**
   * Faults injected: `kept` says the server held a complete release matching its manifest
   * right after the fault, `converged` that re-running the same deploy then succeeded.
   */
  faults: { step: string; kept: boolean; converged: boolean }[];
}

export const tally: Tally = { inputs: [], faults: [] };

/** The figures line, or undefined when no reliability suite ran. */
export function figures(t: Tally = tally): string | undefined {
  if (t.inputs.length === 0 && t.faults.length === 0) return undefined;
  const categories = [...new Set(t.inputs.map((i) => i.category))].sort();
  const by = categories
    .map((c) => `${c} ${t.inputs.filter((i) => i.category === c).length}`)
    .join(", ");
  const lost = t.faults.filter((f) => !f.kept || !f.converged).length;
  return [
    `bad inputs tried: ${t.inputs.length}${by ? ` (${by})` : ""}, refused with the exact text and the server unchanged: ${t.inputs.filter((i) => i.held).length}`,
    `faults injected: ${t.faults.length}, server left on a complete release: ${t.faults.filter((f) => f.kept).length}, re-run converged: ${t.faults.filter((f) => f.converged).length}`,
    `deploys lost: ${lost}`,
  ].join("\n");
}
