import { StackOutputs } from "../tools/outputs";

/** The engine's marker for a value a preview cannot know yet. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** One resource step as the engine's event log reports it, in the order steps began. */
export interface EngineStep {
  op: string;
  type: string;
  name: string;
  urn: string;
}

/** A diagnostic the engine printed: a program log line, a refusal, a failed operation. */
export interface Diagnostic {
  severity: string;
  message: string;
  urn?: string;
}

/** One preview, up or destroy on the real CLI: how it ended and what the engine reported. */
export interface EngineRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Set when the CLI exited non-zero: every error the engine printed, one after another. */
  error?: Error;
  /** The outputs the program registered (a preview's unknowns are undefined); none when it failed. */
  outputs?: StackOutputs;
  /** Every resource step, the stack's and the providers' included. */
  steps: EngineStep[];
  /** The program's own resources, in the order they were registered. */
  resources: EngineStep[];
  diagnostics: Diagnostic[];
}

/** The steps of a run that acted, as "op name": every resource step but the unchanged ones. */
export function acted(run: EngineRun): string[] {
  return run.resources.filter((r) => r.op !== "same").map((r) => `${r.op} ${r.name}`);
}

function known(v: unknown): unknown {
  if (v === UNKNOWN) return undefined;
  if (Array.isArray(v)) return v.map(known);
  if (v && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, known(x)]));
  return v;
}

/** Reads an event log (`--event-log`, one JSON event a line) into steps, diagnostics and outputs. */
export function readEvents(text: string): Pick<EngineRun, "steps" | "diagnostics" | "outputs"> {
  const steps: EngineStep[] = [];
  const diagnostics: Diagnostic[] = [];
  let outputs: StackOutputs | undefined;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const e = JSON.parse(line) as Record<string, Record<string, unknown> | undefined>;
    const pre = e.resourcePreEvent?.metadata as
      { op: string; urn: string; type: string } | undefined;
    if (pre)
      steps.push({ op: pre.op, type: pre.type, urn: pre.urn, name: pre.urn.split("::").pop()! });
    const out = e.resOutputsEvent?.metadata as
      { type: string; new?: { outputs?: Record<string, unknown> } } | undefined;
    if (out?.type === "pulumi:pulumi:Stack" && out.new?.outputs)
      outputs = known(out.new.outputs) as StackOutputs;
    const d = e.diagnosticEvent as { severity: string; message: string; urn?: string } | undefined;
    if (d && d.severity !== "debug")
      diagnostics.push({ severity: d.severity, message: d.message.replace(/\n$/, ""), urn: d.urn });
  }
  return { steps, diagnostics, outputs };
}
