import { ChangeSet, GateResult } from "../gates/gate";
import { BlockedError } from "../gates/gateRun";
import { readKillSwitch } from "../remote/killSwitch";
import { KillSwitchSpec } from "../config/deploy";
import { HostLines, renderReport, ReportInput, saveReport, surveyedLines } from "./report";
import { SurveyedHost } from "../survey/serverSurvey";
import { SourceResult } from "../gates/sequence";
import { AttestedHost } from "./hostRecords";
import * as pulumi from "@pulumi/pulumi";
import { deployedGates, previewGates } from "./gateLines";
import { HostSummary } from "../deploy/hostSummary";

/** Where and for what a run reports. */
export interface RunReportContext {
  stack: string;
  mode: "preview" | "up";
  reportDir: string;
  killSwitch: KillSwitchSpec;
}

function surveyed(hosts: readonly SurveyedHost[], spec: KillSwitchSpec): HostLines[] {
  return hosts.map((h) =>
    surveyedLines(h.name, {
      layout: h.survey.layout,
      live: h.survey.live,
      manifestSha256: h.survey.liveManifestSha256,
      killSwitch: readKillSwitch(h.survey.killSwitchText, spec),
    }),
  );
}

/** The parts of a report that differ between a blocked run, a preview and a started up. */
type RunSpecific = Omit<ReportInput, "stack" | "mode" | "time" | "killSwitch" | "hosts">;

/** Renders and saves a report of this run; every server's lines come from its survey. */
function writeRunReport(
  ctx: RunReportContext,
  hosts: readonly SurveyedHost[],
  specific: (time: Date) => RunSpecific,
  hostLines: (h: HostLines) => HostLines = (h) => h,
): { text: string; file: string } {
  const time = new Date();
  const text = renderReport({
    stack: ctx.stack,
    mode: ctx.mode,
    time,
    killSwitch: { key: ctx.killSwitch.key, declared: ctx.killSwitch.value },
    hosts: surveyed(hosts, ctx.killSwitch).map(hostLines),
    ...specific(time),
  });
  return { text, file: saveReport(ctx.reportDir, ctx.stack, time, text) };
}

/**
 * Turns a gate's block into the run's report: written to the report directory, and thrown as
 * the error that `pulumi preview` and `pulumi up` print, so both say the same. Anything that
 * is not a blocked gate passes through unchanged.
 */
export function reportBlocked(
  err: unknown,
  ctx: RunReportContext,
  hosts: readonly SurveyedHost[],
): never {
  if (!(err instanceof BlockedError)) throw err;
  const { text, file } = writeRunReport(ctx, hosts, () => ({
    result: "BLOCKED_WITH_EXACT_GAP",
    gates: err.gates,
    changeSet: err.context.changeSet,
    unchanged: err.context.unchanged,
    blocked: { gap: err.gap, next: err.context.next },
  }));
  throw new BlockedError(`${text}\n(report: ${file})`, err.gap, err.gates, err.context);
}

/** A preview's report: every gate that ran, what up would do, and that nothing changed. */
export function reportPreview(
  ctx: RunReportContext,
  gates: readonly GateResult[],
  changeSet: ChangeSet,
  hosts: readonly SurveyedHost[],
  wouldChange: boolean,
  unchanged: string,
): string {
  return writeRunReport(ctx, hosts, () => ({
    result: wouldChange ? "PREVIEW_ONLY: would deploy" : "PREVIEW_ONLY: no change",
    gates,
    changeSet,
    unchanged,
  })).file;
}

/**
 * An up's first report, written before anything is registered: it stands until the attestation
 * replaces it, so an up that fails or is cancelled partway still leaves a report, saying so.
 */
export function reportStarted(
  ctx: RunReportContext,
  gates: readonly GateResult[],
  changeSet: ChangeSet,
  hosts: readonly SurveyedHost[],
): string {
  const before = (h: HostLines): HostLines => ({
    ...h,
    productionMutation: "UNKNOWN (the deploy started and did not finish)",
    killSwitch: `before the deploy ${h.killSwitch}`,
    deployedTree: `before the deploy ${h.deployedTree}`,
    servicesRestarted: "unknown",
  });
  const specific = (time: Date): RunSpecific => ({
    result: "INCOMPLETE",
    gates,
    changeSet,
    blocked: {
      gap: `the up started at ${time.toISOString()} and did not finish: an operation failed or the run was cancelled`,
      next: "read the error pulumi up printed; run pulumi preview to see each server's state (a lock kept by a failed proof, drift), then pulumi up again",
    },
  });
  return writeRunReport(ctx, hosts, specific, before).file;
}

/** Whether up would change anything on a host: not when the release is live and as declared. */
export function changesHost(h: SurveyedHost, releaseId: string): boolean {
  return !(
    h.survey.layout === "symlink" &&
    h.survey.live === releaseId &&
    h.departures.length === 0
  );
}

/**
 * Each host as the attestation records it: whether up changes it, the drift it had, and the
 * revert that undid the deploy before this one, if the revisions log ends with one.
 */
export function attestedHosts(hosts: readonly SurveyedHost[], releaseId: string): AttestedHost[] {
  return hosts.map((h) => ({
    name: h.name,
    changes: changesHost(h, releaseId),
    drift: h.drift,
    reverted: h.survey.lastRevert ?? null,
  }));
}

/**
 * A preview's outputs: every gate that ran, then G5–G7 as what up would do, and its report,
 * which says whether up would change anything and that nothing changed.
 */
export function previewRun(
  ctx: RunReportContext,
  source: SourceResult,
  hosts: readonly SurveyedHost[],
  unchanged: string,
) {
  const releaseId = source.artifact.releaseId;
  const gates = [...source.gates, ...previewGates(hosts, releaseId)];
  const wouldChange = hosts.some((h) => changesHost(h, releaseId));
  const report = reportPreview(ctx, gates, source.changeSet, hosts, wouldChange, unchanged);
  return { gates: pulumi.output(gates), report };
}

/**
 * An up's gates, G5 to G7 from what each host's deploy reported, and its first report, which
 * the attestation replaces once every host is done.
 */
export function upRun(
  ctx: RunReportContext,
  source: SourceResult,
  hosts: readonly SurveyedHost[],
  summaries: pulumi.Output<Record<string, HostSummary>>,
) {
  const report = reportStarted(ctx, source.gates, source.changeSet, hosts);
  return { gates: summaries.apply((s) => [...source.gates, ...deployedGates(s)]), report };
}
