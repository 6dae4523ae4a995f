import { KeptCopy } from "../gates/rollback";
import { preamble } from "./preamble";
import { keyValues, q, script } from "./sh";

/**
 * Read-only: whether `releaseId` is staged and matches its manifest, the manifest's digest, its
 * proof and failure records and its kept evidence; and which other releases a rollback could
 * take (not hashed here: only the chosen one is verified).
 */
export function keptScript(root: string, releaseId: string, exclude: readonly string[]): string {
  return script(
    ...preamble(root, exclude),
    `ID=${q(releaseId)}`,
    'MAN="$MANIFESTS/$ID.sha256sums"; EV="$MANIFESTS/$ID.intoto.jsonl"',
    'if verify_release "$RELEASES/$ID" "$MAN" "$MANIFESTS/$ID.links"; then echo kept_state=present',
    'elif [ -e "$RELEASES/$ID" ]; then echo kept_state=bad',
    '  first_differing "$RELEASES/$ID" "$MAN" | sed "s/^/kept_differs=/"',
    "else echo kept_state=absent; fi",
    '[ ! -f "$MAN" ] || echo "kept_manifest_sha256=$(sha256sum < "$MAN" | cut -c1-64)"',
    '[ ! -f "$MAN" ] || echo "kept_files=$(grep -c "" "$MAN" || true)"',
    'p=no; [ -f "$PROVED" ] && grep -qxF "$ID" "$PROVED" && p=yes; echo "kept_proved=$p"',
    '[ ! -f "$R/.deploy/failed" ] || awk -v id="$ID" \'$1 == id { $1 = ""; f = substr($0, 2) } END { if (f != "") print "kept_failed=" f }\' "$R/.deploy/failed"',
    '[ ! -f "$EV" ] || echo "kept_evidence_b64=$(base64 -w 0 < "$EV")"',
    'for d in "$RELEASES"/*; do',
    '  [ -d "$d" ] || continue',
    "  id=${d##*/}",
    '  [ -f "$MANIFESTS/$id.intoto.jsonl" ] && [ -f "$PROVED" ] && grep -qxF "$id" "$PROVED" || continue',
    '  echo "kept_candidate=$id"',
    "done",
    "echo kept=done",
  );
}

/** Reads keptScript's output. */
export function parseKept(stdout: string): KeptCopy {
  const kv = keyValues(stdout);
  if (kv.kept !== "done")
    throw new Error(`the release check did not finish: ${stdout.slice(-500)}`);
  return {
    state: (kv.kept_state ?? "absent") as KeptCopy["state"],
    ...(kv.kept_differs ? { differs: kv.kept_differs } : {}),
    ...(kv.kept_manifest_sha256 ? { manifestSha256: kv.kept_manifest_sha256 } : {}),
    files: Number(kv.kept_files ?? 0),
    proved: kv.kept_proved === "yes",
    ...(kv.kept_failed ? { failed: kv.kept_failed } : {}),
    ...(kv.kept_evidence_b64 !== undefined
      ? { evidence: Buffer.from(kv.kept_evidence_b64, "base64").toString("utf8") }
      : {}),
    candidates: [...stdout.matchAll(/^kept_candidate=(\S+)$/gm)].map((m) => m[1]).sort(),
  };
}
