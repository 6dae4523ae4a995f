import * as os from "node:os";
import { SourceConfig } from "../config/source";
import { BuiltArtifact } from "./artifact/build";
import { keptChangeSetGate } from "./changeSet";
import { discipline } from "./discipline";
import { GateFailure } from "./gate";
import { GateRun } from "./gateRun";
import { checkRepo } from "./precheck";
import { resolveCommit } from "./git";
import { LATER, runGates, ServerChecks, SourceResult } from "./sequence";
import { TestSummary } from "./testGate";
import { firstTen } from "../lib/text";
import { short } from "../lib/hash";

/** A release as a rollback by `release` finds it on one server. */
export interface KeptCopy {
  /** present: it matches its manifest; bad: it was changed; absent: it is not staged there. */
  state: "present" | "absent" | "bad";
  /** The first file of a bad release that differs from its manifest. */
  differs?: string;
  /** sha256 of the manifest kept beside it: what its provenance must name. */
  manifestSha256?: string;
  /** sha256 of its links file and of its entries list: what its provenance must name too. */
  linksSha256?: string;
  entriesSha256?: string;
  /** Entries of its tree that its entries list does not cover, or that are missing: the first named, all counted. */
  uncovered: { named: string[]; count: number };
  /** Entries under a path the excludes name (a running app's __pycache__): removed under the lock before the switch. */
  excluded: { named: string[]; count: number };
  /** Whether it is the live release there: then nothing is switched and nothing removed. */
  live: boolean;
  /** Files the manifest lists. */
  files: number;
  /** Whether it passed its proof when it was deployed (.deploy/proved). */
  proved: boolean;
  /** Its last beforeSwitch failure, "<time> <command>", if any (such a release was removed). */
  failed?: string;
  /** The kept evidence's text; undefined when none was kept. */
  evidence?: string;
  /** The releases kept there that a rollback could take: staged, proved, with evidence. */
  candidates: string[];
}

/** What the evidence kept with a release says, once every signature on it verifies. */
export interface KeptFacts {
  releaseId: string;
  commit: string;
  tree: string;
  /** The artifact as its first deploy named it: file name and sha256 of the .tar.gz. */
  artifactName: string;
  sha256: string;
  tarSha256: string;
  manifestSha256: string;
  /** The links file's and the entries list's digests, byproducts of its provenance. */
  linksSha256: string;
  entriesSha256: string;
  /** The project and stack its provenance names: only that stack's rollback trusts it. */
  project: string;
  stack: string;
  /** G1's secret scan at its first deploy, when its provenance records it. */
  scan?: { scanned: number; skipped: number; findings: number };
  /** The source as its provenance names it. */
  sourceUri: string;
  /** When its first deploy started. */
  firstDeployed: string;
  tests: TestSummary;
  /** Whether the test-result statement says PASSED. */
  passed: boolean;
  /** The kept text itself, which the rollback's attestation carries again. */
  text: string;
}

/**
 * Opens a release's kept evidence with the stack's key: the facts, or why they are not to be
 * trusted. The evidence module provides it; the gates only call it.
 */
export type OpenEvidence = (text: string, releaseId: string) => KeptFacts | { reason: string };

/** The servers' part of a rollback by `release`: each host's copy of it, read-only. */
export interface KeptChecks extends ServerChecks {
  kept(releaseId: string): Promise<{ host: string; copy: KeptCopy }[]>;
}

/** The first ten of a list the server named, and how many more it counted. */
function someOf(l: { named: readonly string[]; count: number }): string {
  const shown = l.named.slice(0, 10);
  return shown.join(", ") + (l.count > shown.length ? ` and ${l.count - shown.length} more` : "");
}

/** Why one host's copy cannot be rolled back to, or its facts. Exported for testing. */
export function judgeKept(
  host: string,
  id: string,
  copy: KeptCopy,
  open: OpenEvidence,
  stack: string,
): KeptFacts | GateFailure {
  const others = copy.candidates.filter((c) => c !== id);
  const instead =
    (others.length > 0
      ? `releases this stack can roll back to on ${host}: ${firstTen(others)} (npm run status -- --stack ${stack} shows them); pulumi config set release <one of them>`
      : `no other release on ${host} can be rolled back to without testing`) +
    "; or roll back by commit, which tests and builds again: pulumi config set release '' && pulumi config set ref <commit>";
  const refuse = (gap: string, first = ""): GateFailure => ({ gap, next: `${first}${instead}` });
  if (copy.state === "absent")
    return refuse(
      copy.failed
        ? `release ${id} failed its beforeSwitch on ${host} (${copy.failed}) and was removed`
        : `release ${id} is not staged on ${host} (it was never deployed there, or retention removed it)`,
    );
  if (copy.state === "bad" && copy.uncovered.count > 0)
    return refuse(
      `release ${id} on ${host} holds ${copy.uncovered.count} entr${copy.uncovered.count === 1 ? "y" : "ies"} its signed entries list does not cover: ${someOf(copy.uncovered)}: it was changed after it was staged`,
      "inspect it (it is evidence, and is never switched to); ",
    );
  if (copy.state === "bad")
    return refuse(
      `release ${id} on ${host} does not match its manifest${copy.differs ? ` (${copy.differs} differs)` : ""}: it was changed after it was staged`,
      "inspect it (it is evidence, and is never switched to); ",
    );
  if (!copy.proved)
    return refuse(
      `release ${id} on ${host} never passed its proof (staged, but never proved live)`,
    );
  if (copy.evidence === undefined)
    return refuse(
      `release ${id} on ${host} has no evidence kept with it (deployed without attestationKey, or before evidence was kept)`,
    );
  const facts = open(copy.evidence, id);
  if ("reason" in facts)
    return refuse(
      `the evidence kept with release ${id} on ${host} is not trusted: ${facts.reason}`,
    );
  const signed: [string, string | undefined, string][] = [
    ["manifest", copy.manifestSha256, facts.manifestSha256],
    ["links file", copy.linksSha256, facts.linksSha256],
    ["entries list", copy.entriesSha256, facts.entriesSha256],
  ];
  for (const [what, held, named] of signed)
    if (held !== named)
      return refuse(
        `the ${what} of release ${id} on ${host} (sha256 ${held ?? "missing"}) is not the one its provenance names (${named})`,
        "inspect it (it is evidence, and is never switched to); ",
      );
  if (!facts.passed)
    return refuse(`the test result kept with release ${id} on ${host} is not PASSED`);
  return facts;
}

/**
 * The gate sequence of a rollback to a release this stack deployed before and that every
 * host still holds, in the order it runs:
 *
 * 1. G0 on this machine: the SSOT repo is here (its working tree is not read);
 * 2. G0 on the servers: the read-only survey, then each host's copy of the release: staged,
 *    matching its manifest, proved, and kept with evidence signed by this stack's key;
 * 3. G2: the release's commit is on the mainline;
 * 4. G1: the change set from what is live to it, by name (its first deploy scanned every file);
 * 5. G3: its test result as its first deploy signed it: the tests are not run again;
 * 6. G4: nothing is built or uploaded: the release on the servers is the artifact.
 */
export async function runRollbackGates(
  cfg: SourceConfig,
  servers: KeptChecks,
  releaseId: string,
  open: OpenEvidence | undefined,
  stack: string,
  progress: (line: string) => void = () => undefined,
): Promise<SourceResult & { kept: KeptFacts }> {
  const run: GateRun = new GateRun(
    ["G0", "G2", "G1", "G3", "G4", ...LATER],
    () => servers.unchanged(),
    progress,
  );
  const git = await run.step("G0", "this machine", async () => {
    if (!open)
      run.block("G0", {
        gap: `release is set to ${releaseId}, but attestationKey is empty, so the evidence kept with it (its signed test result and provenance) cannot be checked`,
        next: "set the key its first deploy signed with: pulumi config set --secret attestationKey < key.pem; or roll back by commit, which tests and builds again: pulumi config set release '' && pulumi config set ref <commit>",
      });
    const repo = await checkRepo(run, cfg);
    run.pass(
      "G0",
      `repo ${cfg.repo} on ${os.hostname()}; release ${releaseId}: a rollback to a kept release (ref not read)`,
    );
    return repo;
  });
  const deployed = await run.step("G0", "the servers, read-only", () => servers.survey(run));
  const kept = await run.step("G0", `the servers: release ${releaseId} kept`, async () => {
    const copies = await servers.kept(releaseId);
    const facts: KeptFacts[] = [];
    for (const { host, copy } of copies) {
      const f = judgeKept(host, releaseId, copy, open!, stack);
      if ("gap" in f) run.block("G0", f);
      if (facts.length > 0 && f.sha256 !== facts[0].sha256)
        run.block("G0", {
          gap: `release ${releaseId} on ${host} is kept with evidence for artifact ${short(f.sha256)}, on ${copies[0].host} for ${short(facts[0].sha256)}`,
          next: "inspect both servers' .deploy/manifests; roll back by commit, which stages a verified copy everywhere: pulumi config set release '' && pulumi config set ref <commit>",
        });
      facts.push(f);
    }
    const f = facts[0];
    // The unsigned entries a running app writes under excluded paths go before the switch.
    const removed = copies
      .filter((c) => c.copy.excluded.count > 0 && !c.copy.live)
      .map((c) => `${c.host}: ${someOf(c.copy.excluded)}`);
    run.pass(
      "G0",
      `release ${releaseId} staged on ${copies.length} host(s), every entry covered by the evidence signed by this stack's key (project ${f.project}, stack ${f.stack}) at its first deploy (${f.firstDeployed}): manifest, links file and entries list; recorded as proved there (an unsigned record: its staged probes run again before the switch)` +
        (removed.length > 0
          ? `; entries under excluded paths, not covered, are removed under the lock before the switch: ${removed.join("; ")}`
          : ""),
    );
    return { facts: f, files: copies[0].copy.files };
  });
  const f = kept.facts;
  const commit = await run.step("G2", "mainline", async () => {
    // The commit a server's evidence names must be one of the source repo's own.
    const c = await resolveCommit(git, f.commit);
    if (!c)
      run.block("G2", {
        gap: `release ${releaseId} was built from commit ${short(f.commit)}, which is not in ${cfg.repo}`,
        next: `fetch it into ${cfg.repo} (git -C ${cfg.repo} fetch), then run again; a commit that is not in the source of truth is never deployed`,
      });
    await discipline(run, git, cfg, c.commit, releaseId);
    return c;
  });
  const changeSet = await run.step("G1", "change set", () =>
    keptChangeSetGate(run, git, cfg, { ...f, files: kept.files }, deployed),
  );
  const t = f.tests;
  await run.step("G3", "kept test result", async () =>
    run.pass(
      "G3",
      `not run again: release ${releaseId}'s signed test result from its first deploy: ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped of ${t.total} (${t.command})`,
    ),
  );
  const detail = `not built: release ${releaseId} (${kept.files} files, manifest ${short(f.manifestSha256)}) is staged on every host and matches its manifest; nothing is uploaded`;
  await run.step("G4", "kept release", async () => run.pass("G4", detail));
  const artifact: BuiltArtifact = {
    releaseId,
    commit: f.commit,
    tree: f.tree,
    sha256: f.sha256,
    tarSha256: f.tarSha256,
    bytes: 0,
    unpackedBytes: 0,
    files: kept.files,
    manifestSha256: f.manifestSha256,
    linksSha256: f.linksSha256,
    entriesSha256: f.entriesSha256,
    path: f.artifactName,
    manifestPath: "",
    linksPath: "",
    entriesPath: "",
    detail,
    kept: true,
  };
  return {
    gates: run.results,
    commit,
    sourceUri: f.sourceUri,
    changeSet,
    tests: t,
    artifact,
    kept: f,
  };
}

/**
 * The gates of this run: a rollback's when `release` names a kept release, and otherwise the
 * whole sequence, which tests and builds `ref`.
 */
export function gatesFor(
  cfg: SourceConfig,
  servers: KeptChecks,
  open: OpenEvidence | undefined,
  stack: string,
  progress: (line: string) => void,
): Promise<SourceResult & { kept?: KeptFacts }> {
  return cfg.release
    ? runRollbackGates(cfg, servers, cfg.release, open, stack, progress)
    : runGates(cfg, servers, progress);
}
