import { KeyObject } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { rolloutLines, rolloutRecord } from "../evidence/rollout";
import { BuiltArtifact } from "../gates/artifact/build";
import { AttestationBundle, bundle, keptBundle } from "../evidence/bundle";
import { ChangeSet, GateResult } from "../gates/gate";
import { SourceConfig } from "../config/source";
import { DeployConfig } from "../config/deploy";
import { HostSummary } from "../deploy/hostSummary";
import {
  deployedLines,
  FinalResult,
  renderReport,
  replaceReport,
  saveBundle,
  saveReport,
} from "../evidence/report";
import { deployStatement, RunFacts } from "../evidence/statements";
import { AttestedHost, hostRecord, releaseStatements } from "../evidence/hostRecords";
import { SourceResult } from "../gates/sequence";

export interface AttestationArgs {
  /** The artifact every statement is about. */
  build: BuiltArtifact;
  /** The source settings the provenance records (ref, branch, excludes). */
  source: SourceConfig;
  /** The source as the provenance names it: its remote URL, or its path. */
  sourceUri: string;
  /** G3's counts, for the test-result statement. */
  tests: SourceResult["tests"];
  /** G1's change set, for the report. */
  changeSet: ChangeSet;
  /** The deploy settings the deploy statement records (root, kill-switch, restart). */
  deploy: DeployConfig;
  /** This run: stack, invocation id, start time, operator, tool version. */
  run: Omit<RunFacts, "finishedOn">;
  /** When G4 finished: the end of the build that the provenance describes. */
  builtOn: string;
  /** Each host as the survey left it, before the deploy. */
  hosts: AttestedHost[];
  /** What each host's deploy reported, by host name. */
  summaries: pulumi.Output<Record<string, HostSummary>>;
  /** The hosts in the batches they switch in, by name (see `rolloutBatches`). */
  batches: string[][];
  /** Every gate's result, G5 to G7 included. */
  gates: pulumi.Output<GateResult[]>;
  /** Signs each statement as a DSSE envelope; the attestation is unsigned without it. */
  signingKey?: KeyObject;
  /** The up's first report, which the final one replaces. */
  reportFile: string;
  /**
   * For a rollback to a kept release: the evidence of its first deploy (provenance and test
   * result, signed then), carried as it was instead of being made again.
   */
  kept?: string;
  /** A preview: nothing is deployed, so the bundle, the result and the report are unknown. */
  preview?: boolean;
}

/**
 * What an up proves, as the `attestation` stack output: SLSA provenance of the artifact, the
 * test result, and what the deploy did on each host, each canonical (JCS) with its sha256 and
 * optionally signed. It resolves when every host's deploy has, and writes the run's report.
 */
export class Attestation extends pulumi.ComponentResource {
  public readonly bundle: pulumi.Output<AttestationBundle>;
  public readonly result: pulumi.Output<FinalResult>;
  /** The report's path on this machine. */
  public readonly report: pulumi.Output<string>;

  constructor(name: string, args: AttestationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ssot-deploy:attestation:Attestation", name, {}, opts);
    if (args.preview) {
      // What up will attest is not known before it runs; an unknown output says so.
      this.bundle = pulumi.output(pulumi.unknown) as pulumi.Output<AttestationBundle>;
      this.result = pulumi.output(pulumi.unknown) as pulumi.Output<FinalResult>;
      this.report = pulumi.output(pulumi.unknown) as pulumi.Output<string>;
      this.registerOutputs({ bundle: this.bundle, result: this.result, report: this.report });
      return;
    }
    const a = args.build;
    const done = pulumi.all([args.summaries, args.gates]).apply(([summaries, gates]) => {
      const finished = new Date();
      const run: RunFacts = { ...args.run, finishedOn: finished.toISOString() };
      const records = args.hosts.map((h) => hostRecord(h, summaries[h.name], a, args.deploy));
      const result: FinalResult = args.hosts.some((h) => h.changes) ? "deployed" : "no change";
      const src = args.source;
      const rollout = rolloutRecord(args.deploy.rollout, args.batches, args.hosts, summaries);
      const deployed = deployStatement(a, run, result, records, {
        deployRoot: args.deploy.deployRoot,
        exclude: src.exclude,
        rollout,
      });
      const b = args.kept
        ? keptBundle(args.kept, deployed, args.signingKey)
        : bundle([...releaseStatements(args, run), deployed], args.signingKey);
      const bundleFile =
        b.envelopes.length === 0 ? undefined : saveBundle(args.reportFile, b.envelopes);
      const text = renderReport({
        stack: run.stack,
        mode: "up",
        time: finished,
        result,
        gates,
        changeSet: args.changeSet,
        killSwitch: { key: args.deploy.killSwitch.key, declared: args.deploy.killSwitch.value },
        hosts: records.map((r) => deployedLines(r, summaries[r.host].beforeSwitch)),
        rollout: rolloutLines(rollout, a.releaseId),
        statements: b.statements.map((s) => ({ predicateType: s.predicateType, sha256: s.sha256 })),
        signed: b.envelopes.length > 0,
        bundle: bundleFile,
      });
      const report = replaceReport(args.reportFile, text, () =>
        saveReport(src.reportDir, run.stack, finished, text),
      );
      return { bundle: b, result, report };
    });
    this.bundle = done.apply((d) => d.bundle);
    this.result = done.apply((d) => d.result);
    this.report = done.apply((d) => d.report);
    this.registerOutputs({ bundle: this.bundle, result: this.result, report: this.report });
  }
}
