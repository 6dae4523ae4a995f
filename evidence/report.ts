import * as fs from "node:fs";
import * as path from "node:path";
import type { ChangeSet } from "../gates/gate";
import { GATE_NAMES, GateResult } from "../gates/gate";
import type { HostRecord } from "./statements";

export type FinalResult =
  | "deployed"
  | "no change"
  | "BLOCKED_WITH_EXACT_GAP"
  | "PREVIEW_ONLY: would deploy"
  | "PREVIEW_ONLY: no change"
  | "INCOMPLETE";

/** What the report says of one server, in the seed's non-mutation terms. */
export interface HostLines {
  host: string;
  productionMutation: string;
  killSwitch: string;
  deployedTree: string;
  servicesRestarted: string;
  /** What the beforeSwitch commands printed, a block per command; absent when none ran. */
  beforeSwitch?: string[];
}

export interface ReportInput {
  stack: string;
  mode: "preview" | "up";
  time: Date;
  result: FinalResult;
  gates: readonly GateResult[];
  changeSet?: ChangeSet;
  killSwitch: { key: string; declared: boolean };
  hosts: HostLines[];
  /** For a run that changed nothing: what it touched (read-only), in one sentence. */
  unchanged?: string;
  blocked?: { gap: string; next: string };
  /** How the hosts switch, or switched, and which are on which release (evidence/rollout.ts). */
  rollout?: string[];
  /** The attestation's statements, by type and JCS sha256. */
  statements?: { predicateType: string; sha256: string }[];
  signed?: boolean;
  /** Where the signed statements were written as an in-toto bundle, or why they were not. */
  bundle?: string;
}

const MAX_LISTED = 50;

function gateTable(gates: readonly GateResult[]): string[] {
  const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  return [
    "| Gate | Outcome | Detail |",
    "|---|---|---|",
    // In the order the gates ran, as the sequence lists them.
    ...gates.map((g) => `| ${g.id} ${GATE_NAMES[g.id]} | ${g.status} | ${cell(g.detail)} |`),
  ];
}

function changeSetLines(cs?: ChangeSet): string[] {
  if (cs === undefined) return ["not surveyed: the run blocked before G1"];
  const base = cs.base === null ? "no base (first deploy)" : `${cs.base} (${cs.baseSource})`;
  const files = [
    ...cs.modified.map((f) => ({ ...f, kind: "modified" })),
    ...cs.added.map((f) => ({ ...f, kind: "added" })),
    ...cs.renamed.map((f) => ({ ...f, kind: `renamed from ${f.from ?? "?"}` })),
    ...cs.deleted.map((p) => ({ path: p, sha256: undefined, kind: "deleted" })),
  ];
  const shown = files
    .slice(0, MAX_LISTED)
    .map((f) => `- ${f.kind} \`${f.path}\`${f.sha256 ? ` sha256 ${f.sha256}` : ""}`);
  return [
    `${base} -> ${cs.target}: ${cs.modified.length} modified, ${cs.added.length} added, ` +
      `${cs.deleted.length} deleted, ${cs.renamed.length} renamed; ${cs.artifactFiles} files ship; ` +
      (cs.scan.keptFrom
        ? cs.scan.keptRecorded
          ? `secret scan: not run again (release ${cs.scan.keptFrom}'s signed provenance records its first deploy's: ${cs.scan.scanned} scanned, ${cs.scan.findings} findings)`
          : `secret scan: not run (release ${cs.scan.keptFrom}'s signed evidence records none)`
        : `secret scan: ${cs.scan.scanned} scanned, ${cs.scan.findings} findings`),
    ...(shown.length > 0 ? [""] : []),
    ...shown,
    ...(files.length > shown.length ? [`- and ${files.length - shown.length} more`] : []),
    ...(cs.excluded.length > 0
      ? [`- excluded from the artifact: ${cs.excluded.length} changed path(s)`]
      : []),
  ];
}

const perHost = (hosts: readonly HostLines[], pick: (h: HostLines) => string, none: string) =>
  hosts.length === 0 ? none : hosts.map((h) => `${h.host} ${pick(h)}`).join("; ");

/**
 * The report of a preview or an up, in the seed report's order: the result, the exact gap when
 * blocked, the gates, the change set, the non-mutation attestation, the next action, and a
 * closing block a script can grep. A blocked run's error is this same text.
 */
export function renderReport(r: ReportInput): string {
  const ks = `${r.killSwitch.key}: ${r.killSwitch.declared}`;
  const untouched = r.unchanged === undefined ? undefined : `NONE — ${r.unchanged}`;
  const lines = [
    `# ssot-deploy report: stack ${r.stack}, ${r.mode}, ${r.time.toISOString()}`,
    "",
    `FINAL RESULT: ${r.result}`,
    "",
  ];
  let n = 1;
  const section = (title: string, body: string[]) =>
    lines.push(`## ${n++}. ${title}`, "", ...body, "");
  if (r.blocked) section("The exact gap", [r.blocked.gap]);
  section("Gates", gateTable(r.gates));
  section("Change set", changeSetLines(r.changeSet));
  section("Non-mutation attestation", [
    "```",
    `production_mutation: ${untouched ?? perHost(r.hosts, (h) => h.productionMutation, "none")}`,
    `${ks} declared; ${perHost(r.hosts, (h) => h.killSwitch, "no server read")}`,
    `deployed tree: ${perHost(r.hosts, (h) => h.deployedTree, "no server read")}`,
    `services restarted: ${perHost(r.hosts, (h) => h.servicesRestarted, "none")}`,
    "secrets logged: none",
    "```",
  ]);
  const prepared = r.hosts.filter((h) => h.beforeSwitch?.length);
  if (prepared.length > 0)
    section(
      "Before the switch",
      prepared.flatMap((h) => h.beforeSwitch!.map((b) => `${h.host}: ${b}`)),
    );
  if (r.rollout) section("Rollout", r.rollout);
  if (r.statements) {
    section(`Attestation (${r.signed ? "signed, DSSE ed25519" : "unsigned"})`, [
      ...r.statements.map((s) => `- ${s.predicateType} sha256 ${s.sha256}`),
      ...(r.bundle === undefined
        ? []
        : ["", `in-toto bundle (one DSSE envelope a line): ${r.bundle}`]),
    ]);
  }
  if (r.blocked) section("Exact next action", [r.blocked.next]);
  lines.push(
    "## STOP",
    "",
    "```",
    `final_outcome: ${r.result}`,
    ...(r.blocked ? [`exact gap: ${r.blocked.gap}`] : []),
    `production_mutation: ${untouched === undefined ? perHost(r.hosts, (h) => h.productionMutation, "none") : "NONE"}`,
    `${ks} (${perHost(r.hosts, (h) => h.killSwitch, "not read")})`,
    ...(r.blocked ? [`next action: ${r.blocked.next}`] : []),
    "```",
  );
  return `${lines.join("\n")}\n`;
}

/** Lines for a server the run only read: its state before, which the run left as it was. */
export function surveyedLines(
  host: string,
  found: {
    layout: string;
    live?: string;
    manifestSha256?: string;
    killSwitch: boolean | undefined;
  },
): HostLines {
  const tree =
    found.layout === "symlink" && found.live !== undefined
      ? `byte-unchanged: releases/${found.live}${found.manifestSha256 ? ` (manifest sha256 ${found.manifestSha256})` : ""}`
      : found.layout === "directory"
        ? "byte-unchanged: current is a plain directory (deployed by hand)"
        : "nothing live, unchanged";
  return {
    host,
    productionMutation: "NONE",
    killSwitch: `reads ${found.killSwitch ?? "nothing (no kill-switch file)"}, not written`,
    deployedTree: tree,
    servicesRestarted: "none",
  };
}

/** Lines for a server the deploy ran on, from its record in the deploy statement. */
export function deployedLines(
  rec: HostRecord,
  beforeSwitch?: { commands: { name: string; exit: number; output: string }[] },
): HostLines {
  const inv = rec.proof.invariants;
  const named = (o: string) =>
    inv
      .filter((i) => i.outcome === o)
      .map((i) => i.name)
      .join(", ");
  const mutation =
    rec.productionMutation === "CHANGED"
      ? `CHANGED (${named("changed")})`
      : rec.productionMutation === "NONE"
        ? `NONE (${inv.length} invariant(s) unchanged: ${named("same")})`
        : inv.length === 0
          ? "UNMEASURED (no invariants declared)"
          : `UNMEASURED (nothing was live before the deploy to measure ${named("unmeasured")} against)`;
  return {
    host: rec.host,
    productionMutation: mutation,
    killSwitch: `read back ${rec.killSwitch.readBack ?? "nothing"}`,
    deployedTree:
      `releases/${rec.releaseId} ${rec.promoted} (manifest sha256 ${rec.manifestSha256})` +
      (rec.revertedBefore === null
        ? ""
        : `; before it, the deploy of ${rec.revertedBefore.from} was reverted to ${rec.revertedBefore.to} at ${rec.revertedBefore.time} by ${rec.revertedBefore.who}: ${rec.revertedBefore.why}`),
    servicesRestarted:
      rec.servicesRestarted.length === 0 ? "none" : rec.servicesRestarted.join(", "),
    ...(beforeSwitch?.commands.length
      ? {
          beforeSwitch: beforeSwitch.commands.map(
            (c) => `${c.name} exited ${c.exit}\n\n\`\`\`\n${c.output.replace(/\n?$/, "\n")}\`\`\``,
          ),
        }
      : {}),
  };
}

/**
 * Writes the report and says where; a report that cannot be written never hides the run's own
 * result, so the failure is returned as text instead of thrown.
 */
export function saveReport(dir: string, stack: string, time: Date, text: string): string {
  try {
    return writeReport(dir, stack, time, text);
  } catch (e) {
    return `not written (${(e as Error).message}); fix reportDir: pulumi config set reportDir <writable directory>`;
  }
}

/** Overwrites the report at `file`; when that fails (it was never written), saves a new one. */
export function replaceReport(file: string, text: string, otherwise: () => string): string {
  // A first report that was never written is named by its reason, not a path.
  if (!path.isAbsolute(file)) return otherwise();
  try {
    fs.writeFileSync(file, text, { mode: 0o600 });
    return file;
  } catch {
    return otherwise();
  }
}

/**
 * Writes the signed statements beside the report as an in-toto bundle, `<report>.intoto.jsonl`,
 * one DSSE envelope a line, and returns its path; or why it was not written.
 */
export function saveBundle(reportFile: string, envelopes: readonly object[]): string {
  if (!path.isAbsolute(reportFile)) return "not written: the report itself was not written";
  const file = reportFile.replace(/\.md$/, "") + ".intoto.jsonl";
  try {
    fs.writeFileSync(file, envelopes.map((e) => `${JSON.stringify(e)}\n`).join(""), {
      mode: 0o600,
    });
    return file;
  } catch (e) {
    return `not written (${(e as Error).message})`;
  }
}

/** Writes `<dir>/<stack>/<UTC time>.md` and returns its path; the report directory is git-ignored. */
export function writeReport(dir: string, stack: string, time: Date, text: string): string {
  const folder = path.join(dir, stack);
  fs.mkdirSync(folder, { recursive: true });
  const stamp = time.toISOString().replace(/[:.]/g, "").replace(/-/g, "");
  let file = path.join(folder, `${stamp}.md`);
  // Two runs in the same millisecond (a preview and an up in one process) keep both reports.
  for (let i = 2; fs.existsSync(file); i++) file = path.join(folder, `${stamp}-${i}.md`);
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}
