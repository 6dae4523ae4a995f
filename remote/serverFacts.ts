import { BUILTIN_EXCLUDES } from "../gates/artifact/excludes";
import { parseManifest, unescapeName } from "../gates/artifact/manifest";
import { findPrune, preamble } from "./preamble";
import { keyValues, q, script } from "./sh";

/** How a tree differs from its manifest, by path. */
export interface TreeDifferences {
  /** Content (or a symlink's target) differs. */
  modified: string[];
  /** Present in the tree, absent from the manifest. */
  added: string[];
  /** In the manifest, absent from the tree. */
  missing: string[];
}

/** What a live server holds, read by `serverFactsScript`. */
export interface ServerFacts {
  current: string;
  manifestSha256?: string;
  treeVerified: boolean;
  /** How the release's tree differs from its manifest, when it does not verify. */
  differences?: TreeDifferences;
  revisions: string;
}

/** Read-only: where current points, the release's manifest digest, whether the tree matches it, the revisions log. */
export function serverFactsScript(
  root: string,
  releaseId: string,
  exclude: readonly string[],
): string {
  return script(
    ...preamble(root, exclude),
    `ID=${q(releaseId)}`,
    'echo "current=$(readlink "$CURRENT" 2>/dev/null || true)"',
    '[ -f "$MANIFESTS/$ID.sha256sums" ] && echo "manifest_sha256=$(sha256sum < "$MANIFESTS/$ID.sha256sums" | cut -c1-64)"',
    'if verify_release "$RELEASES/$ID" "$MANIFESTS/$ID.sha256sums" "$MANIFESTS/$ID.links"; then echo tree=verified; else',
    "  echo tree=failed",
    // What differs, for the verdict: sha256sum names changed and missing files (escaped as in
    // the manifest), the file list gives the added ones, readlink the moved symlinks.
    '  ( cd "$RELEASES/$ID" 2>/dev/null && sha256sum -c "$MANIFESTS/$ID.sha256sums" 2>/dev/null ) | sed -n -e "s/: FAILED open or read$//p" | sed "s/^/diff_missing=/" || true',
    '  ( cd "$RELEASES/$ID" 2>/dev/null && sha256sum -c "$MANIFESTS/$ID.sha256sums" 2>/dev/null ) | sed -n -e "s/: FAILED$//p" | sed "s/^/diff_modified=/" || true',
    "  tab=$(printf '\\t')",
    '  [ ! -f "$MANIFESTS/$ID.links" ] || while IFS="$tab" read -r l d; do [ "$(readlink "$RELEASES/$ID/$l")" = "$d" ] || echo "diff_modified=$l"; done < "$MANIFESTS/$ID.links"',
    `  [ ! -d "$RELEASES/$ID" ] || echo "files_b64=$(cd "$RELEASES/$ID" && find . ${findPrune([...BUILTIN_EXCLUDES, ...exclude], ".")} -type f -printf '%P\\0' | base64 -w 0)"`,
    '  [ ! -f "$MANIFESTS/$ID.sha256sums" ] || echo "manifest_b64=$(base64 -w 0 < "$MANIFESTS/$ID.sha256sums")"',
    "fi",
    '[ -f "$REVISIONS" ] && echo "revisions_b64=$(base64 -w 0 < "$REVISIONS")"',
    "echo facts=done",
  );
}

export function parseServerFacts(stdout: string): ServerFacts {
  const kv = keyValues(stdout);
  if (kv.facts !== "done") throw new Error(`the server read did not finish: ${stdout.slice(-300)}`);
  const treeVerified = kv.tree === "verified";
  return {
    current: kv.current ?? "",
    manifestSha256: kv.manifest_sha256,
    treeVerified,
    differences: treeVerified ? undefined : serverDifferences(stdout, kv),
    revisions: Buffer.from(kv.revisions_b64 ?? "", "base64").toString("utf8"),
  };
}

/** The failed tree's differences, from the lines serverFactsScript prints. */
function serverDifferences(stdout: string, kv: Record<string, string>): TreeDifferences {
  const lines = (k: string) =>
    [...stdout.matchAll(new RegExp(`^${k}=(.*)$`, "gm"))].map((m) =>
      // sha256sum marks an escaped name with a leading backslash.
      m[1].startsWith("\\") ? unescapeName(m[1].slice(1)) : m[1],
    );
  const b64 = (k: string) => Buffer.from(kv[k] ?? "", "base64").toString("utf8");
  const listed = new Set(parseManifest(b64("manifest_b64")).map((e) => e.path));
  const files = b64("files_b64")
    .split("\0")
    .filter((f) => f !== "");
  return {
    modified: [...new Set(lines("diff_modified"))].sort(),
    added: files.filter((f) => !listed.has(f)).sort(),
    missing: lines("diff_missing").sort(),
  };
}
