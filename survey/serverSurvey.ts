import * as pulumi from "@pulumi/pulumi";
import { BuiltArtifact } from "../gates/artifact/build";
import { KeptChecks, KeptCopy } from "../gates/rollback";
import { DeployConfig, HostSpec } from "../config/deploy";
import { GateRun } from "../gates/gateRun";
import { openRunner, Runner } from "./runner";
import { contentSha256 } from "../gates/blobs";
import {
  connectionFailure,
  departures,
  driftOf,
  driftReconciled,
  diskFailure,
  judgeSurvey,
  SurveyContext,
  tamperedTarget,
} from "./judge";
import { ExcludeFilter } from "../gates/artifact/excludes";
import { SshError } from "./ssh";
import {
  keptScript,
  parseKept,
  parseSurvey,
  parseTarget,
  SurveyReading,
  surveyScript,
  targetScript,
} from "../remote/survey";
import { valueOf } from "../lib/output";

/** One deploy target after the survey: its spec (none for target local) and what was found. */
export interface SurveyedHost {
  name: string;
  spec?: HostSpec;
  survey: SurveyReading;
  /**
   * Whether the release to deploy is staged there, verifies, and is not live: a rollback,
   * which uploads nothing.
   */
  staged: boolean;
  /** Whether the release to deploy is there already, staged or live, and verifies. */
  onServer: boolean;
  /** How the server departs from the last deploy of this release (see `departures`). */
  departures: string[];
  /** Whether the live tree drifted in a way the commit being deployed already holds. */
  driftReconciled: boolean;
  /** The live release's drift from its manifest, as surveyed; null when there is none. */
  drift: { modified: string[]; added: string[] } | null;
}

export interface ServerSurveyArgs {
  /** The stack's validated deploy settings: the hosts and what to read on each. */
  deploy: DeployConfig;
  /** The SSH key and its passphrase, secret Outputs unwrapped only to connect. */
  ssh: { privateKey: pulumi.Output<string>; passphrase: pulumi.Output<string> };
  /** The stack, for the reconcile command a drift refusal names. */
  stack: string;
  /** This deploy's lock token: a lock holding it is this deploy's to re-enter. */
  lockToken: string;
  /**
   * The artifact's extra excludes, the same list the deploy steps get: a file matching them on
   * a server is not drift.
   */
  exclude: readonly string[];
}

/** A host the survey could not connect to, and why. */
class NotConnected extends Error {
  constructor(readonly failure: SshError) {
    super(failure.message);
  }
}

/**
 * G0 on the servers, and the target check after G4, as the gate sequence calls them: one
 * read-only connection per host, kept open from the survey to the target check and closed by
 * `close()`. Every finding that must block blocks before any resource exists.
 */
export class ServerSurvey implements KeptChecks {
  readonly hosts: SurveyedHost[] = [];
  private readonly runners: Runner[] = [];
  /** Every connection opened, those of hosts read after one that blocked too: close() ends them. */
  private readonly opened: Runner[] = [];
  /** Whether any server has been connected to (read-only) in this run. */
  contacted = false;
  private readonly deploy: DeployConfig;
  private readonly ssh: ServerSurveyArgs["ssh"];
  private readonly stack: string;
  private readonly lockToken: string;
  private readonly exclude: readonly string[];

  constructor(args: ServerSurveyArgs) {
    ({
      deploy: this.deploy,
      ssh: this.ssh,
      stack: this.stack,
      lockToken: this.lockToken,
      exclude: this.exclude,
    } = args);
  }

  /**
   * Surveys every host; returns the commit live on the first one that has one. `target` is
   * the commit being deployed, against which drift is checked for having been reconciled.
   */
  async survey(
    run: GateRun,
    target?: { repo: string; commit: string },
  ): Promise<string | undefined> {
    const targets = this.deploy.target === "local" ? [undefined] : this.deploy.hosts;
    const privateKey = this.deploy.target === "ssh" ? await valueOf(this.ssh.privateKey) : "";
    const passphrase = this.deploy.target === "ssh" ? await valueOf(this.ssh.passphrase) : "";
    const script = surveyScript(
      this.deploy.deployRoot,
      this.deploy.killSwitch.file,
      this.deploy.invariants,
      this.exclude,
    );
    this.contacted = targets.length > 0;
    // Every host is read at once (a fleet's survey takes as long as its slowest host), then
    // judged in the order the stack lists them, so the first host that blocks is the one named.
    const reads = await Promise.allSettled(
      targets.map(async (spec) => {
        // Only a connection that could not be made is G0's connection failure.
        const runner = await openRunner(spec, { privateKey, passphrase }).catch((e: unknown) => {
          throw e instanceof SshError ? new NotConnected(e) : e;
        });
        this.opened.push(runner);
        return { runner, out: await runner.run(script) };
      }),
    );
    for (const [i, spec] of targets.entries()) {
      const name = spec?.name ?? "local";
      const read = reads[i];
      if (read.status === "rejected") {
        if (read.reason instanceof NotConnected)
          run.block("G0", connectionFailure(name, i, read.reason.failure));
        throw read.reason;
      }
      const { runner, out } = read.value;
      this.runners.push(runner);
      const survey = parseSurvey(out.stdout, this.deploy.invariants.length);
      const drifted = survey.drift ? [...survey.drift.modified, ...survey.drift.added] : [];
      const context = {
        ...this.context(name, runner),
        target:
          target && drifted.length > 0
            ? await contentSha256(target.repo, target.commit, drifted)
            : undefined,
      };
      const { added, drifted: hasDrift } = driftOf(survey, context);
      // Recorded before it is judged, so that a blocked report can say what this server holds.
      this.hosts.push({
        name,
        spec,
        survey,
        staged: false,
        onServer: false,
        departures: [],
        driftReconciled: driftReconciled(survey, context),
        drift: hasDrift ? { modified: survey.drift!.modified, added } : null,
      });
      const judged = judgeSurvey(survey, context);
      if ("gap" in judged) run.block("G0", judged);
      run.pass("G0", judged.detail);
    }
    return this.hosts.find((h) => h.survey.liveCommit)?.survey.liveCommit;
  }

  /** After G4: whether each host already holds the release, and has room for it. */
  async checkArtifact(run: GateRun, a: BuiltArtifact): Promise<void> {
    const script = targetScript(this.deploy.deployRoot, a.releaseId, this.exclude);
    const outs = await Promise.all(this.runners.map((r) => r.run(script)));
    for (const [i, h] of this.hosts.entries()) {
      const out = outs[i];
      const context = this.context(h.name, this.runners[i]);
      const target = parseTarget(out.stdout);
      if (target.state === "bad" && h.survey.live !== a.releaseId && !this.deploy.acceptDrift)
        run.block("G4", tamperedTarget(context, a.releaseId, target.differs));
      h.onServer = target.state === "present";
      h.staged = h.onServer && h.survey.live !== a.releaseId;
      h.departures = departures(h.survey, context, a.releaseId);
      const disk = h.staged ? undefined : diskFailure(h.survey, context, a.bytes, a.unpackedBytes);
      if (disk) run.block("G4", disk);
    }
  }

  /**
   * For a rollback by `release`, after the survey: each host's copy of the release (verified
   * against its manifest there), its records and kept evidence. Nothing is uploaded after it,
   * so each host counts as holding the release staged.
   */
  async kept(releaseId: string): Promise<{ host: string; copy: KeptCopy }[]> {
    const copies: { host: string; copy: KeptCopy }[] = [];
    const script = keptScript(
      this.deploy.deployRoot,
      releaseId,
      this.exclude,
      this.deploy.sharedFiles,
    );
    const outs = await Promise.all(this.runners.map((r) => r.run(script)));
    for (const [i, h] of this.hosts.entries()) {
      const out = outs[i];
      const copy = parseKept(out.stdout);
      h.onServer = copy.state === "present";
      h.staged = h.onServer && h.survey.live !== releaseId;
      h.departures = departures(h.survey, this.context(h.name, this.runners[i]), releaseId);
      copies.push({ host: h.name, copy });
    }
    return copies;
  }

  /** What a blocked report says the run left on the servers. */
  unchanged(): string {
    return this.contacted
      ? "No resource was registered; the servers were only read."
      : "No resource was registered and no server was contacted.";
  }

  close(): void {
    for (const r of this.opened) r.close();
  }

  private context(hostName: string, runner: Runner): SurveyContext {
    const filter = new ExcludeFilter(this.exclude);
    return {
      hostName,
      where: runner.where,
      stack: this.stack,
      lockToken: this.lockToken,
      deploy: this.deploy,
      ignored: (p) => filter.excludes(p),
    };
  }
}
