import { ChangeSet, GateResult } from "../gates/gate";
import { BlockedError } from "../gates/gateRun";
import { readKillSwitch } from "../remote/killSwitch";
import { DeployConfig, KillSwitchSpec } from "../config/deploy";
import { batchLine, byRelease, HostRelease, unfinishedGap } from "./rollout";
import {
  HostLines,
  renderReport,
  replaceReport,
  ReportInput,
  saveReport,
  surveyedLines,
} from "./report";
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
  /** The deploy settings a report names: the kill-switch and the rollout policy. */
  deploy: Pick<DeployConfig, "killSwitch" | "rollout">;
}

/** Each host and the release the survey found live on it. */
const liveOn = (hosts: readonly SurveyedHost[]): HostRelease[] =>
  hosts.map((h) => ({
    name: h.name,
    live: h.survey.layout === "symlink" ? h.survey.live : undefined,
  }));

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

/** Renders a report of this run at `time`; every server's lines come from its survey. */
function renderRun(
  ctx: RunReportContext,
  hosts: readonly SurveyedHost[],
  specific: (time: Date) => RunSpecific,
  hostLines: (h: HostLines) => HostLines,
  time: Date,
): string {
  return renderReport({
    stack: ctx.stack,
    mode: ctx.mode,
    time,
    killSwitch: { key: ctx.deploy.killSwitch.key, declared: ctx.deploy.killSwitch.value },
    hosts: surveyed(hosts, ctx.deploy.killSwitch).map(hostLines),
    ...specific(time),
  });
}

/** Renders and saves a report of this run. */
function writeRunReport(
  ctx: RunReportContext,
  hosts: readonly SurveyedHost[],
  specific: (time: Date) => RunSpecific,
  hostLines: (h: HostLines) => HostLines = (h) => h,
  time = new Date(),
): { text: string; file: string } {
  const text = renderRun(ctx, hosts, specific, hostLines, time);
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
  batches: readonly string[][],
): string {
  return writeRunReport(ctx, hosts, () => ({
    result: wouldChange ? "PREVIEW_ONLY: would deploy" : "PREVIEW_ONLY: no change",
    gates,
    changeSet,
    unchanged,
    rollout: [
      `up would run ${batchLine(ctx.deploy.rollout, batches)}`,
      `live now: ${byRelease(liveOn(hosts))}`,
    ],
  })).file;
}

/**
 * An up's first report, written before anything is registered, then again as each host's
 * deploy finishes: it stands until the attestation replaces it, so an up that fails or is
 * cancelled partway still leaves a report, saying so and naming the hosts on each release.
 * Returns its path and what records a host's finished deploy.
 */
export function reportStarted(
  ctx: RunReportContext,
  source: Pick<SourceResult, "gates" | "changeSet" | "artifact">,
  hosts: readonly SurveyedHost[],
  batches: readonly string[][],
): { file: string; finished: (host: string) => void } {
  const { releaseId } = source.artifact;
  const done = new Set<string>();
  const started = new Date();
  const before = (h: HostLines): HostLines =>
    done.has(h.host)
      ? {
          ...h,
          productionMutation: `deployed releases/${releaseId}; the attestation records what changed`,
          killSwitch: "as the attestation records it",
          deployedTree: `releases/${releaseId}, verified by its deploy`,
          servicesRestarted: "as the attestation records it",
        }
      : {
          ...h,
          productionMutation: "UNKNOWN (the deploy started and did not finish)",
          killSwitch: `before the deploy ${h.killSwitch}`,
          deployedTree: `before the deploy ${h.deployedTree}`,
          servicesRestarted: "unknown",
        };
  const specific = (): RunSpecific => ({
    result: "INCOMPLETE",
    gates: source.gates,
    changeSet: source.changeSet,
    rollout: [batchLine(ctx.deploy.rollout, batches)],
    blocked: {
      gap: unfinishedGap(started, releaseId, liveOn(hosts), done),
      next: "read the error pulumi up printed; run pulumi preview to see each server's state (a lock kept by a failed proof, drift), then pulumi up again, which converges every host on the release",
    },
  });
  const { file } = writeRunReport(ctx, hosts, specific, before, started);
  return {
    file,
    finished: (host) => {
      done.add(host);
      // Once every host is done the attestation writes the report: nothing here races it.
      if (done.size < hosts.length)
        replaceReport(file, renderRun(ctx, hosts, specific, before, started), () => file);
    },
  };
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
  batches: readonly string[][],
) {
  const releaseId = source.artifact.releaseId;
  const gates = [...source.gates, ...previewGates(hosts, releaseId)];
  const wouldChange = hosts.some((h) => changesHost(h, releaseId));
  const report = reportPreview(
    ctx,
    gates,
    source.changeSet,
    hosts,
    wouldChange,
    unchanged,
    batches,
  );
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
  fleet: { each: Record<string, pulumi.Output<HostSummary>>; batches: string[][] },
) {
  const started = reportStarted(ctx, source, hosts, fleet.batches);
  for (const [host, summary] of Object.entries(fleet.each))
    summary.apply(() => started.finished(host));
  const summaries = pulumi.all(fleet.each);
  return {
    gates: summaries.apply((s) => [...source.gates, ...deployedGates(s)]),
    report: started.file,
  };
}
