import * as fs from "node:fs";
import { RawConfig } from "../../config/keys";
import { parseStackConfig } from "../../config/stack";
import { ed25519Key } from "../../lib/keys";
import { openRunner, Runner } from "../../survey/runner";
import { AttestationBundle } from "../../evidence/bundle";
import { sha256Hex, fileSha256 } from "../../lib/hash";
import { PROVENANCE_TYPE } from "../../evidence/statements";
import { artifactDifferences, describeDifferences } from "./treeDiff";
import {
  Check,
  checkServer,
  checkSignatures,
  checkStatements,
  checkSubject,
  deployPredicate,
  parseBundle,
} from "./checks";
import { parseServerFacts, serverFactsScript } from "../../remote/serverFacts";

export interface VerifyOptions {
  /** The saved attestation's text (`pulumi stack output attestation --json`). */
  attestation: string;
  /** The signer's ed25519 public key (PEM); without it signatures are not checked. */
  publicKey?: string;
  /** The artifact file, checked against the subject. */
  artifact?: string;
  /** The stack whose servers are read (read-only) and checked against the deploy statement. */
  servers?: {
    /** The stack's name: an attestation of another stack is refused, not checked against it. */
    stack?: string;
    raw: RawConfig;
    privateKey?: string;
    passphrase?: string;
    host?: string;
  };
}

/** Reads each host named in the deploy statement and checks it; never writes to a server. */
async function serverChecks(
  o: NonNullable<VerifyOptions["servers"]>,
  attestation: ReturnType<typeof parseBundle>,
): Promise<Check[]> {
  const predicate = deployPredicate(attestation);
  if (predicate === undefined) {
    return [
      { name: "servers", outcome: "FAILED", detail: "the attestation has no deploy statement" },
    ];
  }
  if (o.stack !== undefined && predicate.stack !== o.stack) {
    return [
      {
        name: "servers",
        outcome: "FAILED",
        detail: `the attestation is of a deploy of stack ${predicate.stack}, not ${o.stack}: its servers were not read; pass --stack ${predicate.stack}, or the attestation of a deploy of ${o.stack}`,
      },
    ];
  }
  // Validated as the program validates them, so a stack a deploy refuses is refused here too.
  const { deploy } = parseStackConfig(o.raw);
  const records = predicate.hosts.filter((r) => o.host === undefined || r.host === o.host);
  if (records.length === 0) {
    return [
      { name: "servers", outcome: "FAILED", detail: `the deploy statement has no host ${o.host}` },
    ];
  }
  const checks: Check[] = [];
  for (const rec of records) {
    const spec =
      deploy.target === "local" ? undefined : deploy.hosts.find((h) => h.name === rec.host);
    if (deploy.target === "ssh" && spec === undefined) {
      checks.push({
        name: `${rec.host}: server`,
        outcome: "FAILED",
        detail: `the stack has no host ${rec.host}`,
      });
      continue;
    }
    let runner: Runner | undefined;
    try {
      runner = await openRunner(spec, o);
      const out = await runner.run(
        serverFactsScript(predicate.deployRoot, rec.releaseId, predicate.exclude),
      );
      checks.push(...checkServer(rec, parseServerFacts(out.stdout)));
    } catch (e) {
      checks.push({ name: `${rec.host}: server`, outcome: "FAILED", detail: (e as Error).message });
    } finally {
      runner?.close();
    }
  }
  return checks;
}

/**
 * `npm run verify`: the statements' digests and shared subject, their signatures (with a
 * public key), the artifact file against the subject, and each server against the deploy
 * statement (current, manifest, tree, revisions chain and entry). Returns every check.
 */
export async function verifyAttestation(o: VerifyOptions): Promise<Check[]> {
  const b = parseBundle(o.attestation);
  const checks = [...checkStatements(b)];
  checks.push(
    ...checkSignatures(
      b,
      o.publicKey === undefined ? undefined : ed25519Key(o.publicKey, "public"),
    ),
  );
  if (o.artifact !== undefined) checks.push(await artifactCheck(b, o.artifact));
  if (o.servers !== undefined) checks.push(...(await serverChecks(o.servers, b)));
  return checks;
}

/**
 * The artifact against the subject; when it differs, the files that differ, read from the
 * archive against the manifest beside it (`<release>.sha256sums`, as G4 leaves it), which must be
 * the manifest the provenance records.
 */
async function artifactCheck(b: AttestationBundle, file: string): Promise<Check> {
  const c = checkSubject(b, await fileSha256(file), file);
  if (c.outcome === "ok") return c;
  const manifestFile = file.replace(/\.tar\.gz$/, "") + ".sha256sums";
  const recorded = manifestDigest(b);
  const text = await fs.promises.readFile(manifestFile, "utf8").catch(() => undefined);
  if (text === undefined)
    return {
      ...c,
      detail: `${c.detail}; no manifest at ${manifestFile} to name the files that differ`,
    };
  if (sha256Hex(text) !== recorded)
    return {
      ...c,
      detail: `${c.detail}; ${manifestFile} is not the manifest the provenance records, so the files that differ are not named`,
    };
  const diff = await artifactDifferences(file, text).catch((e: Error) => e);
  if (diff instanceof Error)
    return { ...c, detail: `${c.detail}; it is not a readable .tar.gz (${diff.message})` };
  const none = diff.modified.length + diff.added.length + diff.missing.length === 0;
  return {
    ...c,
    detail: `${c.detail}; ${none ? "every file matches the manifest: what differs is a link, a directory or the compression" : describeDifferences(diff)}`,
  };
}

/** The manifest's sha256 as the provenance records it among its byproducts. */
function manifestDigest(b: AttestationBundle): string | undefined {
  const p = b.statements.find((s) => s.predicateType === PROVENANCE_TYPE)?.statement.predicate as
    { runDetails?: { byproducts?: { name: string; digest: { sha256: string } }[] } } | undefined;
  return p?.runDetails?.byproducts?.find((x) => x.name === "manifest.sha256sums")?.digest.sha256;
}

/** What a verdict proves: integrity only, or origin too (a signature that verified). */
export type VerdictStatus = "VERIFIED" | "UNSIGNED" | "ORIGIN NOT CHECKED" | "REJECTED";

/**
 * The verdict, one line per check, then the result. Without a signature that verified, the
 * checks prove consistency, not who made the statements, and the result says so;
 * `requireSignature` makes that a failure. Rejected when any check failed.
 */
export function renderChecks(
  checks: readonly Check[],
  opts: { requireSignature?: boolean } = {},
): { text: string; ok: boolean; status: VerdictStatus } {
  const of = (outcome: Check["outcome"]) => checks.filter((c) => c.outcome === outcome);
  const failedChecks = of("FAILED");
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines = checks.map((c) => `${c.outcome.padEnd(7)} ${c.name.padEnd(width)}  ${c.detail}`);
  const held = `${of("ok").length} check(s) held, ${of("skipped").length} skipped`;
  if (failedChecks.length > 0) {
    lines.push(
      `REJECTED: ${failedChecks.length} check(s) failed: ${failedChecks.map((c) => c.name).join("; ")}`,
    );
    return { text: lines.join("\n"), ok: false, status: "REJECTED" };
  }
  const signed = checks.some((c) => c.name.startsWith("signature ") && c.outcome === "ok");
  if (signed) {
    lines.push(`VERIFIED: ${held}; signed by the key given, so its origin is proven`);
    return { text: lines.join("\n"), ok: true, status: "VERIFIED" };
  }
  const against = [
    checks.some((c) => c.name === "artifact") ? "the artifact" : "",
    checks.some((c) => c.name.includes(": current")) ? "the servers" : "",
  ].filter((x) => x !== "");
  const consistent = `consistent with ${against.length > 0 ? against.join(" and ") : "itself"}; origin not proven (${held})`;
  const unsigned = checks.some((c) => c.name === "signatures" && /not signed/.test(c.detail));
  const status: VerdictStatus = unsigned ? "UNSIGNED" : "ORIGIN NOT CHECKED";
  const hint = unsigned
    ? "set attestationKey to sign"
    : "pass --public-key <the signer's public key> to check its signatures";
  if (opts.requireSignature) {
    lines.push(
      `REJECTED: --require-signature, and the origin is not proven: ${status.toLowerCase()}; ${hint}`,
    );
    return { text: lines.join("\n"), ok: false, status: "REJECTED" };
  }
  lines.push(`${status}: ${consistent}; ${hint}`);
  return { text: lines.join("\n"), ok: true, status };
}
