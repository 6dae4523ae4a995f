import { expect } from "chai";
import { generateKeyPairSync } from "node:crypto";
import type { StackOutputs } from "../../tools/outputs";
import { renderChecks, verifyAttestation } from "../../tools/verify/run";
import type { Check } from "../../tools/verify/checks";

/** An ed25519 key pair for signing attestations in tests, as PEM. */
export function signingKeyPair(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    privateKey: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

/** What `pulumi stack output attestation --json` would save. */
export function savedAttestation(out: StackOutputs): string {
  expect(out.attestation, "the up left no attestation").to.not.equal(undefined);
  return JSON.stringify(out.attestation, null, 2);
}

/**
 * Runs every check `npm run verify` makes: statements, signatures, the artifact file, and the
 * servers of the stack `raw` describes. Returns the checks; `expectVerified` wants all to hold.
 */
export function verifyAgainst(
  attestation: string,
  raw: Record<string, string>,
  opts: { publicKey?: string; artifact?: string },
): Promise<Check[]> {
  return verifyAttestation({
    attestation,
    publicKey: opts.publicKey,
    artifact: opts.artifact,
    servers: { raw, privateKey: raw.sshPrivateKey, passphrase: raw.sshPassphrase },
  });
}

export async function expectVerified(
  out: StackOutputs,
  raw: Record<string, string>,
  publicKey?: string,
): Promise<Check[]> {
  const checks = await verifyAgainst(savedAttestation(out), raw, {
    publicKey,
    artifact: out.artifact.path,
  });
  const { text, ok } = renderChecks(checks);
  expect(ok, text).to.equal(true);
  expect(
    checks.some((c) => c.outcome === "skipped" && publicKey !== undefined),
    text,
  ).to.equal(false);
  return checks;
}
