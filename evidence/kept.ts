import * as fs from "node:fs";
import * as path from "node:path";
import { KeyObject, randomUUID } from "node:crypto";
import { KeptFacts, OpenEvidence } from "../gates/rollback";
import { SourceResult } from "../gates/sequence";
import { SourceConfig } from "../config/source";
import { releaseStatements } from "./hostRecords";
import { openEnvelope, parseEnvelopes, readEnvelopes, signEnvelope } from "./dsse";
import { canonicalJson } from "./jcs";
import { PROVENANCE_TYPE, RunFacts, Statement, TEST_RESULT_TYPE, TOOL_VERSION } from "./statements";

/** Where this machine keeps the evidence it wrote for a release of a stack. */
export function evidenceFile(workDir: string, stack: string, releaseId: string): string {
  return path.join(workDir, "evidence", stack, `${releaseId}.intoto.jsonl`);
}

/**
 * The evidence to keep beside a release on its servers: its provenance and test-result
 * statements, each a DSSE envelope signed with the stack's key, one per line. The text first
 * written for a release (in up; a preview writes nothing) is reused, so that a re-deploy of it
 * declares the same stage step and a server keeps what its first deploy proved; unless
 * `usable` says a rollback would not trust it (evidence an earlier version wrote, which names
 * no stack and covers no entries list): then it is signed afresh.
 */
export function evidenceToKeep(
  file: string,
  statements: readonly Statement[],
  key: KeyObject,
  persist: boolean,
  usable: (text: string) => boolean = () => true,
): string {
  const earlier = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
  const envs = earlier === undefined ? undefined : parseEnvelopes(earlier);
  if (
    envs &&
    envs.length > 0 &&
    envs.every((e) => !("reason" in openEnvelope(e, key))) &&
    usable(earlier!)
  )
    return earlier!;
  const text = statements
    .map((s) => JSON.stringify(signEnvelope(Buffer.from(canonicalJson(s), "utf8"), key)))
    .join("\n")
    .concat("\n");
  if (persist) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.tmp-${process.pid}`, text);
    fs.renameSync(`${file}.tmp-${process.pid}`, file);
  }
  return text;
}

type Json = Record<string, unknown>;
const at = (v: unknown, ...keys: (string | number)[]): unknown =>
  keys.reduce<unknown>((o, k) => (o as Record<string | number, unknown> | undefined)?.[k], v);

/** Whose evidence a stack trusts: its own project's and its own. */
export interface EvidenceOwner {
  project: string;
  stack: string;
}

/**
 * Opens the evidence kept with `releaseId` on a server: every envelope must carry a signature by
 * `key` that verifies, the provenance and the test result must be about one artifact, the one
 * the release id names (its commit and tar digest), the provenance must name `owner`'s project
 * and stack, and its byproducts must cover every entry of the release (manifest, links file,
 * entries list). Returns what a rollback needs from it, or exactly why it is not trusted.
 */
export function openKeptEvidence(
  text: string,
  releaseId: string,
  key: KeyObject,
  owner: EvidenceOwner,
): KeptFacts | { reason: string } {
  const envs = readEnvelopes(text);
  if ("reason" in envs) return { reason: `it is not a list of DSSE envelopes: ${envs.reason}` };
  const statements: Statement[] = [];
  for (const [i, e] of envs.entries()) {
    const opened = openEnvelope(e, key);
    if ("reason" in opened) return { reason: opened.reason };
    const s = statementOf(opened.payload);
    if (!s) return { reason: `envelope ${i + 1}'s payload is not an in-toto statement` };
    statements.push(s);
  }
  const prov = statements.find((s) => s.predicateType === PROVENANCE_TYPE);
  const test = statements.find((s) => s.predicateType === TEST_RESULT_TYPE);
  if (!prov || !test) return { reason: "it lacks the provenance or the test-result statement" };
  if (canonicalJson(prov.subject) !== canonicalJson(test.subject))
    return { reason: "its provenance and its test result name different artifacts" };
  const dep = at(prov.predicate, "buildDefinition", "resolvedDependencies", 0) as Json;
  const commit = String(at(dep, "digest", "gitCommit") ?? "");
  const byproducts = at(prov.predicate, "runDetails", "byproducts");
  const byproduct = (name: string) =>
    String(
      at(
        (Array.isArray(byproducts) ? (byproducts as Json[]) : []).find((b) => b?.name === name),
        "digest",
        "sha256",
      ) ?? "",
    );
  const tarSha256 = byproduct("release.tar");
  if (releaseId !== `${commit.slice(0, 12)}-${tarSha256.slice(0, 8)}`)
    return {
      reason: `its provenance is of commit ${commit.slice(0, 12)}, tar ${tarSha256.slice(0, 8)}, not of release ${releaseId}`,
    };
  const params = at(prov.predicate, "buildDefinition", "internalParameters");
  const project = String(at(params, "project") ?? "");
  const stack = String(at(params, "stack") ?? "");
  if (project === "" || stack === "")
    return {
      reason:
        "its provenance names no project and stack (it was signed by an earlier version), so any stack signed with this key could have made it",
    };
  if (project !== owner.project || stack !== owner.stack)
    return {
      reason: `it was signed for project ${project}, stack ${stack}, not for this one (project ${owner.project}, stack ${owner.stack})`,
    };
  const [linksSha256, entriesSha256] = [byproduct("release.links"), byproduct("release.entries")];
  if (linksSha256 === "" || entriesSha256 === "")
    return {
      reason:
        "its provenance does not cover the release's links file and entries list (it was signed by an earlier version), so an entry added on the server would go unseen",
    };
  const subject = prov.subject[0];
  const scan = at(params, "secretScan") as KeptFacts["scan"] | undefined;
  const config = at(test.predicate, "configuration", 0) as Json | undefined;
  const n = (k: string) => Number(at(config, "annotations", k) ?? 0);
  return {
    releaseId,
    commit,
    tree: String(at(dep, "digest", "gitTree") ?? ""),
    artifactName: String(subject?.name ?? ""),
    sha256: String(subject?.digest?.sha256 ?? ""),
    tarSha256,
    manifestSha256: byproduct("manifest.sha256sums"),
    linksSha256,
    entriesSha256,
    project,
    stack,
    ...(typeof scan?.scanned === "number" ? { scan } : {}),
    sourceUri: String(at(prov.predicate, "buildDefinition", "externalParameters", "source") ?? ""),
    firstDeployed: String(at(prov.predicate, "runDetails", "metadata", "startedOn") ?? ""),
    tests: {
      command: Buffer.from(String(at(config, "content") ?? ""), "base64").toString("utf8"),
      passed: n("passed"),
      failed: n("failed"),
      skipped: n("skipped"),
      total: n("total"),
      cached: true,
    },
    passed: at(test.predicate, "result") === "PASSED",
    text,
  };
}

/** A signed payload as a statement, or undefined when it is not JSON with a subject list. */
function statementOf(payload: Buffer): Statement | undefined {
  try {
    const s = JSON.parse(payload.toString("utf8")) as Statement;
    return typeof s === "object" && s !== null && Array.isArray(s.subject) ? s : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The evidence a deploy keeps beside the release it uploads, or undefined: unsigned (nothing a
 * rollback could trust) or a rollback (the release keeps its first deploy's).
 */
export function keptEvidenceFor(
  source: SourceResult & { kept?: KeptFacts },
  cfg: SourceConfig,
  run: Omit<RunFacts, "finishedOn">,
  builtOn: string,
  key: KeyObject | undefined,
  persist: boolean,
): string | undefined {
  if (!key || source.kept) return undefined;
  const statements = releaseStatements(
    {
      build: source.artifact,
      source: cfg,
      sourceUri: source.sourceUri,
      tests: source.tests,
      builtOn,
      changeSet: source.changeSet,
    },
    { ...run, finishedOn: builtOn },
  );
  const { releaseId } = source.artifact;
  const owner = { project: run.project, stack: run.stack };
  return evidenceToKeep(
    evidenceFile(cfg.workDir, run.stack, releaseId),
    statements,
    key,
    persist,
    (text) => !("reason" in openKeptEvidence(text, releaseId, key, owner)),
  );
}

/** How this stack opens a kept release's evidence: with its own key, or not at all unsigned. */
export function keptEvidenceOpener(
  key: KeyObject | undefined,
  owner: EvidenceOwner,
): OpenEvidence | undefined {
  return key && ((text, releaseId) => openKeptEvidence(text, releaseId, key, owner));
}

/** What this run records about itself in every statement it makes. */
export function runFacts(
  project: string,
  stack: string,
  startedOn: string,
  deployer: { holder: string; host: string },
): Omit<RunFacts, "finishedOn"> {
  return {
    project,
    stack,
    invocationId: randomUUID(),
    startedOn,
    operator: `${deployer.holder}@${deployer.host}`,
    toolVersion: TOOL_VERSION,
  };
}
