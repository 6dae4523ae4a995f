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
 * What is wrong with a value that should be a DSSE envelope, or undefined when it has the
 * envelope's shape: a string payloadType, a base64 payload, and a list of signatures, each an
 * object with a string keyid and a base64 sig. Any text may reach here from a server.
 */
export function envelopeFault(v: unknown): string | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    return `it is ${describe(v)}, not a DSSE envelope (an object)`;
  const e = v as Record<string, unknown>;
  if (typeof e.payloadType !== "string") return `its payloadType is ${describe(e.payloadType)}`;
  if (typeof e.payload !== "string") return `its payload is ${describe(e.payload)}`;
  if (!BASE64.test(e.payload)) return "its payload is not base64";
  if (!Array.isArray(e.signatures)) return `its signatures are ${describe(e.signatures)}`;
  for (const [i, s] of (e.signatures as unknown[]).entries()) {
    if (typeof s !== "object" || s === null || Array.isArray(s))
      return `its signatures[${i}] is ${describe(s)}, not an object`;
    const sig = s as Record<string, unknown>;
    if (typeof sig.keyid !== "string")
      return `its signatures[${i}].keyid is ${describe(sig.keyid)}`;
    if (typeof sig.sig !== "string") return `its signatures[${i}].sig is ${describe(sig.sig)}`;
    if (!BASE64.test(sig.sig)) return `its signatures[${i}].sig is not base64`;
  }
  return undefined;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A JSON value's kind in a refusal: its type, never its text (it may be anything). */
function describe(v: unknown): string {
  if (v === undefined) return "missing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return `a ${typeof v}`;
}

/**
 * Checks the envelope against one public key: a signature with its key id must verify over
 * the PAE of the payload as carried. Returns the payload, or the reason it is not trusted.
 */
export function openEnvelope(
  env: Envelope,
  publicKey: crypto.KeyObject,
): { payload: Buffer } | { reason: string } {
  const fault = envelopeFault(env);
  if (fault) return { reason: fault };
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

/**
 * The envelopes of a JSON Lines text, one per line, or what is wrong with it: the first line
 * that is not JSON, or not an envelope, by its number.
 */
export function readEnvelopes(text: string): Envelope[] | { reason: string } {
  const envs: Envelope[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      return { reason: `line ${i + 1} is not JSON` };
    }
    const fault = envelopeFault(v);
    if (fault) return { reason: `line ${i + 1}: ${fault}` };
    envs.push(v as Envelope);
  }
  return envs.length > 0 ? envs : { reason: "it holds no DSSE envelope" };
}

/** The envelopes of a JSON Lines text, one per line; undefined when a line is not one. */
export function parseEnvelopes(text: string): Envelope[] | undefined {
  const envs = readEnvelopes(text);
  return "reason" in envs ? undefined : envs;
}
