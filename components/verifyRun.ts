import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { RawConfig } from "./config";
import { parseDeployConfig } from "./deployConfig";
import { ed25519Key } from "./dsse";
import { openRunner, Runner } from "./runner";
import {
  Check,
  checkServer,
  checkSignatures,
  checkStatements,
  checkSubject,
  deployPredicate,
  parseBundle,
  parseServerFacts,
  serverFactsScript,
} from "./verify";

export interface VerifyOptions {
  /** The saved attestation's text (`pulumi stack output attestation --json`). */
  attestation: string;
  /** The signer's ed25519 public key (PEM); without it signatures are not checked. */
  publicKey?: string;
  /** The artifact file, checked against the subject. */
  artifact?: string;
  /** The stack whose servers are read (read-only) and checked against the deploy statement. */
  servers?: { raw: RawConfig; privateKey?: string; passphrase?: string; host?: string };
}

function fileSha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    fs.createReadStream(file)
      .on("error", reject)
      .on("data", (d) => h.update(d))
      .on("end", () => resolve(h.digest("hex")));
  });
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
  const deploy = parseDeployConfig(o.raw);
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
  if (o.artifact !== undefined)
    checks.push(checkSubject(b, await fileSha256(o.artifact), o.artifact));
  if (o.servers !== undefined) checks.push(...(await serverChecks(o.servers, b)));
  return checks;
}

/** The verdict, one line per check, then the result; rejected when any check failed. */
export function renderChecks(checks: readonly Check[]): { text: string; ok: boolean } {
  const of = (outcome: Check["outcome"]) => checks.filter((c) => c.outcome === outcome);
  const failedChecks = of("FAILED");
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines = checks.map((c) => `${c.outcome.padEnd(7)} ${c.name.padEnd(width)}  ${c.detail}`);
  const ok = failedChecks.length === 0;
  lines.push(
    ok
      ? `VERIFIED: ${of("ok").length} check(s) held, ${of("skipped").length} skipped`
      : `REJECTED: ${failedChecks.length} check(s) failed: ${failedChecks.map((c) => c.name).join("; ")}`,
  );
  return { text: lines.join("\n"), ok };
}
