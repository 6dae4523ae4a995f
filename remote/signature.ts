import * as crypto from "node:crypto";
import { NOT_SWITCHED, preamble, requireLock, uploadPaths } from "./preamble";
import { keyValues, q, script } from "./sh";
import { sha256Hex } from "../lib/hash";

export interface SignatureArgs {
  /** The layout's root on the target. */
  root: string;
  /** The release about to go live. */
  releaseId: string;
  /** The ed25519 public keys the server trusts, each the base64 of its SPKI DER. */
  trustedKeys: readonly string[];
  /** Where config sets them, `hosts[0].trustedKeys`: a refusal's fix names it. */
  configPath: string;
  /** This deploy's lock token: the step refuses without the lock. */
  lockToken: string;
  /** The next action when the upload the signature is checked against is gone. */
  missingUpload: string;
}

/**
 * What the server reads of the evidence, as evidence/ writes it (a test keeps them equal; a
 * script of the server cannot import a later stage): the envelopes' payload type, the
 * statement's type, and the provenance's predicate type.
 */
export const EVIDENCE_TYPES = {
  payload: "application/vnd.in-toto+json",
  statement: "https://in-toto.io/Statement/v1",
  provenance: "https://slsa.dev/provenance/v1",
};
const { payload: IN_TOTO_PAYLOAD_TYPE, statement: STATEMENT_TYPE } = EVIDENCE_TYPES;
const PROVENANCE_TYPE = EVIDENCE_TYPES.provenance;

/** The tool the server verifies with, and the version that first verifies ed25519 raw input. */
export const VERIFIER = "openssl pkeyutl -verify -pubin -rawin";
const NEED = "OpenSSL 1.1.1 or later";

/** A key's id as the envelopes name it: the sha256 of its SPKI DER. */
export function keyIdOfSpki(spki: string): string {
  return sha256Hex(Buffer.from(spki, "base64"));
}

/**
 * A signature the server's openssl must verify before it is trusted to verify any other: a key
 * made from a fixed seed (ed25519 signs deterministically, so the script's text never changes).
 * An openssl that lacks ed25519 or -rawin fails it, and is then named as the gap.
 */
function probeSignature(): { spki: string; sig: string } {
  const seed = Buffer.alloc(32, 7);
  const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
  const key = crypto.createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  const spki = crypto.createPublicKey(key).export({ type: "spki", format: "der" });
  return {
    spki: spki.toString("base64"),
    sig: crypto.sign(null, Buffer.from("ssot-deploy"), key).toString("base64"),
  };
}

/** Lines writing an SPKI key as the PEM file `file` (60 base64 characters: one line). */
const pem = (file: string, spki: string) =>
  `printf '%s\\n' '-----BEGIN PUBLIC KEY-----' ${q(spki)} '-----END PUBLIC KEY-----' > ${file}`;

/**
 * The Signature step: before the switch, the server itself checks that the release's artifact is
 * the subject of a provenance statement signed by one of the trusted keys. The artifact's
 * sha256 is recomputed here from the upload, never taken from the deployer; the statements are
 * the evidence kept beside the release (`.deploy/manifests/<release>.intoto.jsonl`, DSSE
 * envelopes), written by the stage step of this deploy or kept from the release's first one.
 * For each envelope the PAE is rebuilt from its decoded payload and verified with openssl
 * against every trusted key; the payload must be the canonical (JCS) statement whose last two
 * fields are the provenance type and this artifact as its one subject, matched byte for byte at
 * the payload's end, so that a digest elsewhere in it does not count.
 */
export function signatureScript(a: SignatureArgs): string {
  const probe = probeSignature();
  const ids = a.trustedKeys.map(keyIdOfSpki);
  const short = (id: string) => `${id.slice(0, 16)}…`;
  const trusted = ids.map(short).join(", ");
  const type = Buffer.from(IN_TOTO_PAYLOAD_TYPE, "utf8");
  const start = `{"_type":${JSON.stringify(STATEMENT_TYPE)},`;
  const fix = `remove ${a.configPath} to deploy without the check (pulumi config rm --path '${a.configPath}')`;
  const redeploy = `remove $EV, then run pulumi up from the machine that holds a trusted signing key (attestationKey), which signs the release again`;
  return script(
    ...preamble(a.root),
    requireLock(a.lockToken),
    `ID=${q(a.releaseId)}`,
    `UP=${q(uploadPaths(a.root, a.releaseId).artifact)}`,
    'EV="$MANIFESTS/$ID.intoto.jsonl"',
    "command -v openssl >/dev/null 2>&1 || " +
      `block "this server has no openssl, so it cannot check the release's signature (${VERIFIER}); ${NOT_SWITCHED}; install ${NEED} on the server (apt-get install -y openssl), or ${fix}"`,
    'W="$R/.deploy/.signature-$$"',
    // Under the lock no other check runs: any such directory is left from an interrupted one.
    'rm -rf "$R/.deploy/.signature-"*; mkdir -p "$W"',
    'cleanup() { rm -rf "$W"; }',
    "trap cleanup EXIT",
    pem('"$W/probe.pem"', probe.spki),
    `printf '%s' ${q(probe.sig)} | base64 -d > "$W/probe.sig"`,
    "printf 'ssot-deploy' > \"$W/probe.msg\"",
    'openssl pkeyutl -verify -pubin -inkey "$W/probe.pem" -rawin -in "$W/probe.msg" -sigfile "$W/probe.sig" >/dev/null 2>&1 || ' +
      `block "$(openssl version 2>/dev/null || echo openssl) on this server cannot verify an ed25519 signature (${VERIFIER} needs ${NEED}), so it cannot check the release's signature; ${NOT_SWITCHED}; install ${NEED} on the server, or ${fix}"`,
    `NEXT=${q(a.missingUpload)}`,
    `[ -f "$UP" ] || block "the upload $UP of release $ID is not on this server, so its sha256 cannot be checked against a signed provenance; ${NOT_SWITCHED}; $NEXT"`,
    // Recomputed here, from the file the release was extracted from.
    'got=$(sha256sum < "$UP" | cut -c1-64)',
    `[ -f "$EV" ] || block "release $ID has no signed provenance on this server ($EV is missing: the deploy that staged it had no attestationKey, or the file was removed), so no trusted key vouches for its artifact (sha256 $got); ${NOT_SWITCHED}; run pulumi up from the machine that holds the stack's signing key (attestationKey), or ${fix}"`,
    ...a.trustedKeys.map((k, i) => pem(`"$W/key-${i}.pem"`, k)),
    `printf '%s' ${q(start)} > "$W/start"`,
    `printf ',"predicateType":"%s","subject":[{"digest":{"sha256":"%s"},"name":"%s"}]}' ${q(PROVENANCE_TYPE)} "$got" "$ID.tar.gz" > "$W/subject"`,
    'ns=$(($(wc -c < "$W/start"))); nj=$(($(wc -c < "$W/subject")))',
    'named=""; signers=""; ok=""',
    'while IFS= read -r line || [ -n "$line" ]; do',
    // Only an in-toto payload: the PAE below is rebuilt with that type.
    `  p=$(printf '%s\\n' "$line" | sed -n ${q(`s|^{"payloadType":"${IN_TOTO_PAYLOAD_TYPE.replace(/\./g, "\\.")}","payload":"\\([A-Za-z0-9+/=]*\\)","signatures":\\[.*|\\1|p`)})`,
    '  [ -n "$p" ] || continue',
    '  printf \'%s\' "$p" | base64 -d > "$W/payload" 2>/dev/null || continue',
    '  head -c "$ns" "$W/payload" | cmp -s - "$W/start" || continue',
    '  tail -c "$nj" "$W/payload" | cmp -s - "$W/subject" || continue',
    "  named=yes",
    `  signers="$signers $(printf '%s\\n' "$line" | grep -o '"keyid":"[0-9a-f]*"' | cut -d'"' -f4 | tr '\\n' ' ')"`,
    `  { printf 'DSSEv1 %s %s %s ' ${type.length} ${q(IN_TOTO_PAYLOAD_TYPE)} "$(($(wc -c < "$W/payload")))"; cat "$W/payload"; } > "$W/pae"`,
    `  for s in $(printf '%s\\n' "$line" | grep -o '"sig":"[A-Za-z0-9+/=]*"' | cut -d'"' -f4); do`,
    '    printf \'%s\' "$s" | base64 -d > "$W/sig" 2>/dev/null || continue',
    ...a.trustedKeys.map(
      (_, i) =>
        `    if openssl pkeyutl -verify -pubin -inkey "$W/key-${i}.pem" -rawin -in "$W/pae" -sigfile "$W/sig" >/dev/null 2>&1; then ok=${ids[i]}; break 2; fi`,
    ),
    "  done",
    '  [ -z "$ok" ] || break',
    'done < "$EV"',
    `[ -n "$named" ] || block "no provenance statement in $EV names this artifact (sha256 $got, recomputed on this server from $UP) as its subject: the upload or the evidence was changed; ${NOT_SWITCHED}; ${redeploy}"`,
    'if [ -z "$ok" ]; then',
    `  [ -n "$(printf '%s' "$signers" | tr -d ' ')" ] || block "the provenance of release $ID in $EV carries no signature; ${NOT_SWITCHED}; ${redeploy}"`,
    '  mine=""',
    `  IDS=${q(ids.join(" "))}`,
    `  for id in $IDS; do case " $signers " in *" $id "*) mine=$id;; esac; done`,
    `  [ -n "$mine" ] || block "the provenance of release $ID is signed by key $(printf '%s' "$signers" | awk '{ for (i = 1; i <= NF; i++) printf "%s%s…", (i > 1 ? ", " : ""), substr($i, 1, 16) }'), not by a key ${a.configPath} trusts (${trusted}); ${NOT_SWITCHED}; run pulumi up from the machine that holds a trusted signing key, after you remove $EV; or add that key to ${a.configPath} if you trust it"`,
    `  block "the provenance of release $ID does not verify with the trusted key $(printf '%s' "$mine" | cut -c1-16)…: its payload or its signature was changed after it was signed; ${NOT_SWITCHED}; ${redeploy}"`,
    "fi",
    'echo "signature=verified"',
    'echo "signature_key=$ok"',
    'echo "signature_sha256=$got"',
  );
}

/** What a deploy reports of the Signature step: "not checked" when the host trusts no key. */
export const SIGNATURE_NOT_CHECKED = "not checked: the host trusts no key";

/** The Signature step's output, in words, for the stack output and the report. */
export function parseSignature(output: string): string {
  const kv = keyValues(output);
  if (kv.signature !== "verified") return SIGNATURE_NOT_CHECKED;
  return `verified on the server: key ${(kv.signature_key ?? "").slice(0, 16)}… signed the provenance of sha256 ${kv.signature_sha256 ?? ""}`;
}
