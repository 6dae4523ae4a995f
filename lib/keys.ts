import * as crypto from "node:crypto";

/** Reads an ed25519 key (PEM, PKCS#8 private or SPKI public); anything else is refused. */
export function ed25519Key(pem: string, kind: "private" | "public"): crypto.KeyObject {
  const key = kind === "private" ? crypto.createPrivateKey(pem) : crypto.createPublicKey(pem);
  if (key.asymmetricKeyType !== "ed25519") {
    throw new Error(`the ${kind} key is ${key.asymmetricKeyType}, not ed25519`);
  }
  return key;
}

/** The DER prefix of an ed25519 SubjectPublicKeyInfo: the 32 key bytes follow it. */
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** Reads one `ssh-ed25519 AAAA… [comment]` line's 32 key bytes, or undefined. */
function sshEd25519(line: string): Buffer | undefined {
  const m = /^ssh-ed25519 ([A-Za-z0-9+/]+={0,2})(?: .*)?$/.exec(line);
  if (!m) return undefined;
  const blob = Buffer.from(m[1], "base64");
  // The wire format: string "ssh-ed25519", then string key (each a 4-byte length first).
  const typeLen = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (typeLen !== 11 || blob.subarray(4, 15).toString("latin1") !== "ssh-ed25519") return undefined;
  if (blob.length !== 15 + 4 + 32 || blob.readUInt32BE(15) !== 32) return undefined;
  return blob.subarray(19);
}

/**
 * A trusted public key as config takes it, on one line: the base64 of its SPKI DER (what
 * `openssl pkey -pubout -outform DER | base64 -w0` prints) or an `ssh-ed25519 AAAA…` line.
 * Returns the base64 SPKI DER, the one form the server reads, or why the text is not one.
 */
export function trustedPublicKey(text: string): { spki: string } | { reason: string } {
  const raw = sshEd25519(text);
  if (raw) return { spki: Buffer.concat([ED25519_SPKI_PREFIX, raw]).toString("base64") };
  if (text.startsWith("ssh-"))
    return { reason: `an ${text.split(" ")[0]} line, not a well-formed ssh-ed25519 one` };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return { reason: "not one line of base64" };
  const der = Buffer.from(text, "base64");
  let key: crypto.KeyObject;
  try {
    key = crypto.createPublicKey({ key: der, format: "der", type: "spki" });
  } catch {
    return {
      reason: "base64 that is not a public key (SPKI DER); a private key is never pasted here",
    };
  }
  if (key.asymmetricKeyType !== "ed25519")
    return { reason: `a ${key.asymmetricKeyType} public key, not ed25519` };
  return { spki: key.export({ type: "spki", format: "der" }).toString("base64") };
}
