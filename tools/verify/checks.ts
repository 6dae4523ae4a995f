import { KeyObject } from "node:crypto";
import { AttestationBundle } from "../../evidence/bundle";
import { openEnvelope } from "../../evidence/dsse";
import { canonicalJson } from "../../evidence/jcs";
import { sha256Hex } from "../../lib/hash";
import { describeDifferences } from "./treeDiff";
import { ServerFacts } from "../../remote/serverFacts";
import { checkChain } from "../../evidence/revisions";
import { DEPLOY_TYPE, HostRecord, STATEMENT_TYPE } from "../../evidence/statements";

/** One verdict of `npm run verify`: what was checked, whether it held, and why not. */
export interface Check {
  name: string;
  outcome: "ok" | "FAILED" | "skipped";
  detail: string;
}

const ok = (name: string, detail: string): Check => ({ name, outcome: "ok", detail });
const failed = (name: string, detail: string): Check => ({ name, outcome: "FAILED", detail });

/** The deploy statement's predicate, as verify reads it. */
export interface DeployPredicate {
  stack: string;
  deployRoot: string;
  exclude: string[];
  result: string;
  commit: string;
  releaseId: string;
  hosts: HostRecord[];
}

/** Reads a saved attestation (`pulumi stack output attestation --json`); refuses other JSON. */
export function parseBundle(text: string): AttestationBundle {
  const b = JSON.parse(text) as Partial<AttestationBundle>;
  if (!Array.isArray(b.statements) || b.statements.length === 0) {
    throw new Error(
      "not an attestation: it has no statements (save one with pulumi stack output attestation --json > FILE)",
    );
  }
  return { statements: b.statements, envelopes: Array.isArray(b.envelopes) ? b.envelopes : [] };
}

/** Each statement's canonical text must hash to the sha256 recorded beside it; all share one subject. */
export function checkStatements(b: AttestationBundle): Check[] {
  const checks = b.statements.map((s, i) => {
    const name = `statement ${i + 1} (${s.predicateType})`;
    if (s.statement?._type !== STATEMENT_TYPE || s.statement.predicateType !== s.predicateType) {
      return failed(name, `not an in-toto Statement v1 of type ${s.predicateType}`);
    }
    const actual = sha256Hex(canonicalJson(s.statement));
    return actual === s.sha256
      ? ok(name, `JCS sha256 ${actual}`)
      : failed(name, `altered: its JCS sha256 is ${actual}, the attestation records ${s.sha256}`);
  });
  const subjects = new Set(b.statements.map((s) => canonicalJson(s.statement?.subject ?? null)));
  checks.push(
    subjects.size === 1
      ? ok("subject", "every statement names the same artifact")
      : failed("subject", `the statements name ${subjects.size} different subjects`),
  );
  return checks;
}

/** With a public key, every statement must carry an envelope signed by it whose payload is the statement. */
export function checkSignatures(b: AttestationBundle, publicKey?: KeyObject): Check[] {
  if (publicKey === undefined) {
    return [
      {
        name: "signatures",
        outcome: "skipped",
        detail:
          b.envelopes.length === 0 ? "the attestation is not signed" : "no --public-key given",
      },
    ];
  }
  if (b.envelopes.length === 0)
    return [failed("signatures", "the attestation carries no signature")];
  return b.statements.map((s, i) => {
    const name = `signature ${i + 1} (${s.predicateType})`;
    const env = b.envelopes[i];
    if (env === undefined) return failed(name, "no envelope for this statement");
    const opened = openEnvelope(env, publicKey);
    if ("reason" in opened) return failed(name, opened.reason);
    return opened.payload.toString("utf8") === canonicalJson(s.statement)
      ? ok(name, `signed by key ${env.signatures[0].keyid.slice(0, 16)}…`)
      : failed(name, "the signed payload is not the statement carried beside it");
  });
}

/** The artifact file must be the subject: same sha256. */
export function checkSubject(b: AttestationBundle, artifactSha256: string, file: string): Check {
  const digest = b.statements[0].statement.subject[0]?.digest.sha256;
  return digest === artifactSha256
    ? ok("artifact", `${file} has sha256 ${digest}`)
    : failed(
        "artifact",
        `${file} has sha256 ${artifactSha256}, the attestation's subject is ${digest ?? "missing"}`,
      );
}

export function deployPredicate(b: AttestationBundle): DeployPredicate | undefined {
  const s = b.statements.find((x) => x.predicateType === DEPLOY_TYPE);
  return s?.statement.predicate as unknown as DeployPredicate | undefined;
}

/** One host's record against what its server holds now. */
export function checkServer(rec: HostRecord, facts: ServerFacts): Check[] {
  const name = (what: string) => `${rec.host}: ${what}`;
  const checks: Check[] = [];
  const want = `releases/${rec.releaseId}`;
  checks.push(
    facts.current === want
      ? ok(name("current"), `current -> ${want}`)
      : failed(
          name("current"),
          `current -> ${facts.current || "nothing"}, the attestation says ${want}`,
        ),
  );
  checks.push(
    facts.manifestSha256 === rec.manifestSha256
      ? ok(name("manifest"), `manifest sha256 ${rec.manifestSha256}`)
      : failed(
          name("manifest"),
          `the server's manifest of ${rec.releaseId} has sha256 ${facts.manifestSha256 ?? "(missing)"}, the attestation records ${rec.manifestSha256}`,
        ),
  );
  checks.push(
    facts.treeVerified
      ? ok(name("tree"), `releases/${rec.releaseId} matches its manifest file for file`)
      : failed(
          name("tree"),
          `releases/${rec.releaseId} does not match its manifest: ${
            facts.differences === undefined
              ? "a file changed, was added or is missing"
              : describeDifferences(facts.differences)
          }`,
        ),
  );
  const chain = checkChain(facts.revisions);
  if (chain.broken) {
    checks.push(failed(name("revisions log"), `hash chain broken at ${chain.broken.reason}`));
  } else {
    const n = chain.entries.length;
    checks.push(
      ok(name("revisions log"), `${n} ${n === 1 ? "entry" : "entries"}, hash chain intact`),
    );
  }
  const entry = chain.entries.find((e) => e.hash === rec.revisionSha256);
  checks.push(
    entry !== undefined && entry.entry.releaseId === rec.releaseId
      ? ok(name("revision"), `line ${entry.line} records ${rec.releaseId} going live`)
      : failed(
          name("revision"),
          `no intact line of the revisions log hashes to ${rec.revisionSha256 ?? "(none recorded)"} for ${rec.releaseId}: the entry was altered or removed`,
        ),
  );
  return checks;
}
