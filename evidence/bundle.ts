import { KeyObject } from "node:crypto";
import { Envelope, signEnvelope } from "./dsse";
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
