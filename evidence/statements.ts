import * as path from "node:path";
import { BuiltArtifact } from "../gates/artifact/build";
import { canonicalJson } from "./jcs";
import { sha256Hex } from "../lib/hash";
import type { RolloutRecord } from "./rollout";

export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
export const PROVENANCE_TYPE = "https://slsa.dev/provenance/v1";
export const TEST_RESULT_TYPE = "https://in-toto.io/attestation/test-result/v0.1";
/** This project's own predicate: what a deploy did on each host. */
export const DEPLOY_TYPE = "urn:ssot-deploy:predicate:deploy:v1";
export const BUILD_TYPE = "urn:ssot-deploy:buildType:git-archive:v1";

export interface Subject {
  name: string;
  digest: Record<string, string>;
}

export interface Statement<P = Record<string, unknown>> {
  _type: typeof STATEMENT_TYPE;
  subject: Subject[];
  predicateType: string;
  predicate: P;
}

/** What one run knows about itself, shared by the three statements. */
export interface RunFacts {
  /** The Pulumi project and stack: the provenance names them, so that no other stack trusts it. */
  project: string;
  stack: string;
  invocationId: string;
  startedOn: string;
  finishedOn: string;
  /** Who ran it, "user@machine": recorded as a parameter, never as the builder's identity. */
  operator: string;
  toolVersion: string;
}

export interface SourceFacts {
  /** The source's URI: its remote URL (`git+https://…`), or `git+file://<path>` without one. */
  uri: string;
  /** Where the build read it on this machine. */
  repo: string;
  ref: string;
  branch: string;
  exclude: readonly string[];
  builtinExclude: readonly string[];
}

export interface TestFacts {
  command: string;
  passed: number;
  failed: number;
  skipped: number;
  total: number;
  expected: number;
  cached: boolean;
}

/** The subject every statement is about: the artifact file, by its sha256. */
export function artifactSubject(a: Pick<BuiltArtifact, "path" | "sha256">): Subject {
  return { name: path.basename(a.path), digest: { sha256: a.sha256 } };
}

/** G1's secret scan of the files that ship: what the provenance records of it. */
export interface ScanFacts {
  scanned: number;
  skipped: number;
  findings: number;
}

/**
 * SLSA provenance v1: which commit, which parameters, who built it and when, for which project
 * and stack, and what G1's secret scan found; its byproducts are the digests of the manifest,
 * the links file and the entries list, which together cover every entry of the release tree.
 */
export function provenanceStatement(
  a: BuiltArtifact,
  src: SourceFacts,
  run: RunFacts,
  builtOn: string,
  scan: ScanFacts,
): Statement {
  return {
    _type: STATEMENT_TYPE,
    subject: [artifactSubject(a)],
    predicateType: PROVENANCE_TYPE,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          source: src.uri,
          ref: src.ref,
          branch: src.branch,
          excludes: [...src.exclude],
        },
        internalParameters: {
          builtinExcludes: [...src.builtinExclude],
          repo: src.repo,
          operator: run.operator,
          project: run.project,
          stack: run.stack,
          secretScan: { ...scan },
        },
        resolvedDependencies: [
          {
            uri: src.uri,
            digest: { gitCommit: a.commit, gitTree: a.tree },
          },
        ],
      },
      runDetails: {
        builder: {
          id: builderId(run.toolVersion),
          version: { "ssot-deploy": run.toolVersion },
        },
        metadata: { invocationId: run.invocationId, startedOn: run.startedOn, finishedOn: builtOn },
        byproducts: [
          { name: "manifest.sha256sums", digest: { sha256: a.manifestSha256 } },
          { name: "release.tar", digest: { sha256: a.tarSha256 } },
          { name: "release.links", digest: { sha256: a.linksSha256 } },
          { name: "release.entries", digest: { sha256: a.entriesSha256 } },
        ],
      },
    },
  };
}

/**
 * The in-toto test result. The test command reports counts, not names, so the suite is the
 * one named test and the counts ride in the configuration's annotations.
 */
export function testResultStatement(a: BuiltArtifact, t: TestFacts): Statement {
  const suite = `${t.command} (${t.passed} passed, ${t.skipped} skipped of ${t.total})`;
  const passed = t.failed === 0 && t.total > 0 && t.passed >= t.expected;
  return {
    _type: STATEMENT_TYPE,
    subject: [artifactSubject(a)],
    predicateType: TEST_RESULT_TYPE,
    predicate: {
      result: passed ? "PASSED" : "FAILED",
      configuration: [
        {
          name: "testCommand",
          content: Buffer.from(t.command, "utf8").toString("base64"),
          digest: { sha256: sha256Hex(t.command) },
          annotations: {
            commit: a.commit,
            passed: t.passed,
            failed: t.failed,
            skipped: t.skipped,
            total: t.total,
            expectedTests: t.expected,
            cached: t.cached,
          },
        },
      ],
      passedTests: passed ? [suite] : [],
      failedTests: passed ? [] : [suite],
    },
  };
}

/** One host in the deploy statement. */
export interface HostRecord {
  host: string;
  releaseId: string;
  previousRelease: string | null;
  /** "switched", or "unchanged" when it was live already. */
  promoted: string;
  staged: string;
  /** The deployed tree's digest: the sha256 of its manifest. */
  manifestSha256: string;
  /** sha256 of the revisions-log entry that records this release going live. */
  revisionSha256: string | null;
  backup: { kind: string; path: string; sha256: string | null };
  killSwitch: { file: string; key: string; declared: boolean; readBack: boolean | null };
  servicesRestarted: string[];
  /** Whether the release was prepared by the beforeSwitch commands now, before, or not at all. */
  beforeSwitch: { prepared: string; commands: { name: string; exit: number }[] };
  proof: {
    passed: boolean;
    currentVerified: boolean;
    probes: { name: string; when: "staged" | "live"; exit: number }[];
    invariants: { name: string; outcome: "same" | "changed" | "unmeasured" }[];
  };
  drift: { modified: string[]; added: string[] } | null;
  /**
   * A revert the host went through before this deploy (the revisions log's last entry when the
   * survey read it): a deploy whose live proof failed, undone from one release to another. A run
   * that reverts fails, so the engine keeps no outputs of it: the next up's attestation says it.
   */
  revertedBefore: { time: string; who: string; from: string; to: string; why: string } | null;
  /**
   * "NONE" when every invariant read the same after; "CHANGED" when one moved; "UNMEASURED"
   * when none is declared or one had no "before" (nothing was live).
   */
  productionMutation: "NONE" | "CHANGED" | "UNMEASURED";
}

export function productionMutation(
  invariants: readonly { outcome: "same" | "changed" | "unmeasured" }[],
): HostRecord["productionMutation"] {
  if (invariants.some((i) => i.outcome === "changed")) return "CHANGED";
  if (invariants.length === 0 || invariants.some((i) => i.outcome === "unmeasured"))
    return "UNMEASURED";
  return "NONE";
}

export function deployStatement(
  a: BuiltArtifact,
  run: RunFacts,
  result: "deployed" | "no change",
  hosts: HostRecord[],
  where: { deployRoot: string; exclude: readonly string[]; rollout: RolloutRecord },
): Statement {
  return {
    _type: STATEMENT_TYPE,
    subject: [artifactSubject(a)],
    predicateType: DEPLOY_TYPE,
    predicate: {
      stack: run.stack,
      invocationId: run.invocationId,
      startedOn: run.startedOn,
      finishedOn: run.finishedOn,
      result,
      commit: a.commit,
      releaseId: a.releaseId,
      deployRoot: where.deployRoot,
      exclude: [...where.exclude],
      hosts,
      // Which hosts this up switched, in which batches: the fleet's half of "what changed".
      rollout: where.rollout,
    },
  };
}

/** A statement as the stack output carries it: the statement, its JCS text's sha256. */
export interface SealedStatement {
  predicateType: string;
  sha256: string;
  statement: Statement;
}

export function seal(statement: Statement): SealedStatement {
  return {
    predicateType: statement.predicateType,
    sha256: sha256Hex(canonicalJson(statement)),
    statement,
  };
}

/**
 * The SLSA builder: this tool at its version, the same URI whoever runs it; who ran it is a
 * parameter of the build, not the builder's identity.
 */
export function builderId(version: string): string {
  return `urn:ssot-deploy:builder:v${version}`;
}

export { TOOL_VERSION } from "../lib/version";
