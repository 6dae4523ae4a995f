import { KeyObject } from "node:crypto";
import { Envelope, parseEnvelopes, signEnvelope } from "./dsse";
import { canonicalJson } from "./jcs";
import { seal, SealedStatement, Statement } from "./statements";

/**
 * The `attestation` stack output: each statement with the sha256 of its canonical (JCS)
 * text and, when a signing key is configured, a DSSE envelope per statement whose payload
 * is that canonical text.
 */
export interface AttestationBundle {
  statements: SealedStatement[];
  envelopes: Envelope[];
}

export function bundle(statements: Statement[], signingKey?: KeyObject): AttestationBundle {
  return {
    statements: statements.map(seal),
    envelopes:
      signingKey === undefined
        ? []
        : statements.map((s) => signEnvelope(Buffer.from(canonicalJson(s), "utf8"), signingKey)),
  };
}

/**
 * A rollback's bundle: the kept envelopes of the release's first deploy as they were (their
 * statements read back from them), then this deploy's statement, signed now.
 */
export function keptBundle(
  kept: string,
  deployed: Statement,
  signingKey?: KeyObject,
): AttestationBundle {
  // Opened and checked by the rollback's gates already.
  const envelopes = parseEnvelopes(kept) ?? [];
  const statements = envelopes.map(
    (e) => JSON.parse(Buffer.from(e.payload, "base64").toString("utf8")) as Statement,
  );
  const now = bundle([deployed], signingKey);
  return {
    statements: [...statements.map(seal), ...now.statements],
    envelopes: signingKey === undefined ? [] : [...envelopes, ...now.envelopes],
  };
}
