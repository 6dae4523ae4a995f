import { BuiltArtifact } from "../gates/artifact/build";
import { SourceConfig } from "../config/source";
import { DeployConfig } from "../config/deploy";
import { BUILTIN_EXCLUDES } from "../gates/artifact/excludes";
import { HostSummary } from "../deploy/hostSummary";
import { SourceResult } from "../gates/sequence";
import { RevertRecord } from "../remote/promote";
import {
  HostRecord,
  productionMutation,
  provenanceStatement,
  RunFacts,
  ScanFacts,
  Statement,
  testResultStatement,
} from "./statements";

/** One host as the survey left it, before the deploy. */
export interface AttestedHost {
  name: string;
  /** Whether up changes anything there: false when the release is live and as declared. */
  changes: boolean;
  drift: { modified: string[]; added: string[] } | null;
  /** The revert the survey found as the revisions log's last entry: the deploy before undone. */
  reverted: RevertRecord | null;
}

/** What the statements about a release are made from. */
export interface ReleaseFacts {
  /** The artifact every statement is about. */
  build: BuiltArtifact;
  /** The source settings the provenance records (ref, branch, excludes). */
  source: SourceConfig;
  /** The source as the provenance names it: its remote URL, or its path. */
  sourceUri: string;
  /** G3's counts, for the test-result statement. */
  tests: SourceResult["tests"];
  /** When G4 finished: the end of the build that the provenance describes. */
  builtOn: string;
  /** G1's change set, whose secret scan the provenance records. */
  changeSet: { scan: ScanFacts };
}

/**
 * The statements about the release itself, its provenance and its test result: what a deploy
 * attests and keeps beside the release for a later rollback.
 */
export function releaseStatements(args: ReleaseFacts, run: RunFacts): Statement[] {
  const src = args.source;
  return [
    provenanceStatement(
      args.build,
      { ...src, uri: args.sourceUri, builtinExclude: BUILTIN_EXCLUDES },
      run,
      args.builtOn,
      {
        scanned: args.changeSet.scan.scanned,
        skipped: args.changeSet.scan.skipped,
        findings: args.changeSet.scan.findings,
      },
    ),
    testResultStatement(args.build, { ...args.tests, expected: src.expectedTests ?? 0 }),
  ];
}

/** A host's record in the deploy statement, from what its transaction reported. Exported for testing. */
export function hostRecord(
  h: AttestedHost,
  s: HostSummary,
  build: Pick<BuiltArtifact, "manifestSha256">,
  d: Pick<DeployConfig, "killSwitch" | "restartCommand">,
): HostRecord {
  return {
    host: h.name,
    releaseId: s.releaseId,
    previousRelease: s.previous === "" ? null : s.previous,
    promoted: s.promoted,
    staged: s.staged,
    manifestSha256: build.manifestSha256,
    revisionSha256: s.revision === "" ? null : s.revision,
    backup: { kind: s.backup.kind, path: s.backup.path, sha256: s.backup.sha256 ?? null },
    killSwitch: {
      file: d.killSwitch.file,
      key: d.killSwitch.key,
      declared: s.killSwitch.declared,
      readBack: s.killSwitch.readBack ?? null,
    },
    servicesRestarted: s.restarted === "yes" && d.restartCommand ? [d.restartCommand] : [],
    beforeSwitch: {
      prepared: s.beforeSwitch.prepared,
      commands: s.beforeSwitch.commands.map((c) => ({ name: c.name, exit: c.exit })),
    },
    proof: {
      passed: s.proof.passed,
      currentVerified: s.proof.currentVerified,
      probes: s.proof.probes,
      invariants: s.proof.invariants,
    },
    drift: h.drift,
    revertedBefore: h.reverted,
    productionMutation: productionMutation(s.proof.invariants),
  };
}
