import * as crypto from "node:crypto";
import { sha256Hex } from "../lib/hash";

/** A DSSE envelope (v1): the payload, base64, and signatures over its PAE encoding. */
export interface Envelope {
  payloadType: string;
  payload: string;
  signatures: { keyid: string; sig: string }[];
}

export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

/** DSSE's pre-authentication encoding: what is signed, so the type cannot be swapped. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, "utf8"),
    type,
    Buffer.from(` ${payload.length} `, "utf8"),
    payload,
  ]);
}

/** The key id: sha256 of the public key's SPKI DER, so a verifier can tell keys apart. */
export function keyIdOf(key: crypto.KeyObject): string {
  const pub = key.type === "private" ? crypto.createPublicKey(key) : key;
  return sha256Hex(pub.export({ type: "spki", format: "der" }));
}

export function signEnvelope(
  payload: Buffer,
  privateKey: crypto.KeyObject,
  payloadType = IN_TOTO_PAYLOAD_TYPE,
): Envelope {
  const sig = crypto.sign(null, pae(payloadType, payload), privateKey);
  return {
    payloadType,
    payload: payload.toString("base64"),
    signatures: [{ keyid: keyIdOf(privateKey), sig: sig.toString("base64") }],
  };
}

/**
 * Checks the envelope against one public key: a signature with its key id must verify over
 * the PAE of the payload as carried. Returns the payload, or the reason it is not trusted.
 */
export function openEnvelope(
  env: Envelope,
  publicKey: crypto.KeyObject,
): { payload: Buffer } | { reason: string } {
  const keyid = keyIdOf(publicKey);
  const sig = env.signatures.find((s) => s.keyid === keyid);
  if (!sig) {
    const ids = env.signatures.map((s) => s.keyid.slice(0, 16)).join(", ") || "none";
    return { reason: `no signature by key ${keyid.slice(0, 16)}… (signed by: ${ids})` };
  }
  const payload = Buffer.from(env.payload, "base64");
  const ok = crypto.verify(
    null,
    pae(env.payloadType, payload),
    publicKey,
    Buffer.from(sig.sig, "base64"),
  );
  return ok
    ? { payload }
    : { reason: `the signature by key ${keyid.slice(0, 16)}… does not verify` };
}

/** The envelopes of a JSON Lines text, one per line; undefined when a line is not one. */
export function parseEnvelopes(text: string): Envelope[] | undefined {
  try {
    const envs = text
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Envelope);
    return envs.every((e) => typeof e.payload === "string" && Array.isArray(e.signatures))
      ? envs
      : undefined;
  } catch {
    return undefined;
  }
}
