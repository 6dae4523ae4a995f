import * as crypto from "node:crypto";

/** Reads an ed25519 key (PEM, PKCS#8 private or SPKI public); anything else is refused. */
export function ed25519Key(pem: string, kind: "private" | "public"): crypto.KeyObject {
  const key = kind === "private" ? crypto.createPrivateKey(pem) : crypto.createPublicKey(pem);
  if (key.asymmetricKeyType !== "ed25519") {
    throw new Error(`the ${kind} key is ${key.asymmetricKeyType}, not ed25519`);
  }
  return key;
}
