import { entriesFunctions, NOT_SWITCHED, preamble, requireLock, uploadPaths } from "./preamble";
import { q, script } from "./sh";
import { sha256Hex } from "../lib/hash";

export interface StageArgs {
  /** The layout's root on the target. */
  root: string;
  /** The release to stage, named after its commit and tar digest. */
  releaseId: string;
  /** sha256 of the uploaded .tar.gz. */
  sha256: string;
  /**
   * The artifact's sha256sum manifest, written with the release. Undefined for a rollback by
   * `release`, which stages nothing: the release must be there already, matching its own.
   */
  manifest?: string;
  /** The artifact's symlinks, "path TAB target" per line; undefined with `manifest`. */
  links?: string;
  /** The artifact's entries list (gates/artifact/entries.ts); undefined with `manifest`. */
  entries?: string;
  /**
   * For a kept release (no `manifest`): the digests its signed provenance names for the
   * manifest, the links file and the entries list the server holds, checked again under the
   * lock, since the server's files may have changed after the survey read them.
   */
  signed?: { manifestSha256: string; linksSha256: string; entriesSha256: string };
  /**
   * The signed provenance and test-result envelopes of the release's first deploy, kept beside
   * its manifest (never replaced) for a rollback that does not test again.
   */
  evidence?: string;
  /** Paths, relative to the release, linked to the same path under shared/. */
  sharedFiles: readonly string[];
  /** This deploy's lock token: the step refuses without the lock. */
  lockToken: string;
  /** The artifact's extra excludes, which verification ignores on the server. */
  exclude?: readonly string[];
  /** Whether a live copy of this release that drifted may be replaced (it was archived first). */
  acceptDrift?: boolean;
  /** The command that uploads the artifact again, for a refusal when it is missing or corrupt. */
  reupload: string;
}

/** A heredoc writing `text` to `file`: its delimiter holds the text's own hash, so no line of it can match. */
export function heredoc(file: string, text: string): string[] {
  const end = `SSOT_${sha256Hex(text)}`;
  return [
    `cat > ${file} <<'${end}'`,
    ...(text === "" ? [] : [text.replace(/\n$/, "")]),
    end,
    ...(text === "" ? [`: > ${file}`] : []),
  ];
}

/**
 * `keep_evidence`: writes the release's evidence beside its manifest unless some is kept there
 * already, so that a rollback reads what the first deploy proved, whoever deploys it again.
 */
function keepEvidence(evidence: string | undefined): string[] {
  if (evidence === undefined) return ["keep_evidence() { :; }"];
  return [
    'EV="$MANIFESTS/$ID.intoto.jsonl"',
    "keep_evidence() {",
    '  [ ! -f "$EV" ] || return 0',
    '  mkdir -p "$MANIFESTS"',
    // Not indented: the heredoc's text and its delimiter must stand as written.
    ...heredoc('"$EV.tmp-$$"', evidence),
    '  mv "$EV.tmp-$$" "$EV"',
    "}",
  ];
}

/** The sha256 of the file `heredoc` writes for `text`: the text, its last line ended. */
const written = (text: string) => sha256Hex(text === "" ? "" : `${text.replace(/\n$/, "")}\n`);

/** entries_diff's lines, the first ten, as words on one line for a refusal. */
const WORDS = `head -n 10 | sed "s/^[a-z]* //" | entry_words | paste -sd "," - | sed "s/,/, /g"`;

/**
 * What the app wrote under excluded paths in a release that is not live is in no entries list:
 * removed, each named, and the release marked not prepared, so that beforeSwitch prepares it
 * again. In the live release it is the running app's own, and nothing moves.
 */
function removeExcluded(next: string): string[] {
  return [
    'if [ "$live" != "releases/$ID" ]; then',
    '  gone=$(entries_diff "$REL" "$ENT" | sed -n "s/^excluded //p")',
    '  if [ -n "$gone" ]; then',
    // A name holding a backslash is escaped in the list: it is left, and refused just below.
    '    printf "%s\\n" "$gone" | while IFS= read -r p; do case $p in *\\\\*) continue ;; esac; rm -rf "${REL:?}/$p"; echo "kept_removed=$p"; done',
    '    P="$R/.deploy/prepared"',
    '    if [ -f "$P" ]; then grep -vxF "$ID" "$P" > "$P.tmp-$$" || true; mv "$P.tmp-$$" "$P"; fi',
    "  fi",
    `  [ -z "$(entries_diff "$REL" "$ENT")" ] || block "release $ID on this server still holds entries under excluded paths that could not be removed; ${next}"`,
    "fi",
  ];
}

/**
 * The stage step of a rollback by `release`, under the lock: the manifest, links file and
 * entries list the server holds must have the digests the signed evidence names (they may have
 * changed since the survey), the tree must match them, and every entry must be one the list
 * names. Entries under excluded paths (a running app's __pycache__) are not covered, so they
 * are removed, each named, and the release is prepared again by beforeSwitch; any other entry
 * the list does not name refuses.
 */
function keptStage(a: StageArgs): string[] {
  const next = `${NOT_SWITCHED}; run pulumi preview to see what the servers hold now, and inspect $REL (it is evidence, and is never switched to); or roll back by commit, which tests and builds again: pulumi config set release '' && pulumi config set ref <commit>`;
  const signed = a.signed
    ? [
        'signed() { got=missing; [ ! -f "$2" ] || got=$(sha256sum < "$2" | cut -c1-64); [ "$got" = "$3" ] || ' +
          `block "the $1 of release $ID on this server (sha256 $got) is not the one its signed evidence names ($3): it changed after the survey read it; ${next}"; }`,
        `signed manifest "$MAN" ${q(a.signed.manifestSha256)}`,
        `signed "links file" "$LINKS" ${q(a.signed.linksSha256)}`,
        `signed "entries list" "$ENT" ${q(a.signed.entriesSha256)}`,
      ]
    : [
        `block "release $ID is a rollback, but no signed digests were given to check its manifest against; ${NOT_SWITCHED}; run pulumi up again"`,
      ];
  return [
    ...signed,
    'verify_release "$REL" "$MAN" "$LINKS" || ' +
      `block "release $ID is not staged on this server as it was when the survey read it (gone, or changed since); ${NOT_SWITCHED}; run npm run status to see the releases kept, then pulumi config set release <one of them>, or release '' to deploy ref"`,
    `odd=$(entries_diff "$REL" "$ENT" | grep -v "^excluded " | ${WORDS})`,
    `[ -z "$odd" ] || block "release $ID on this server holds entries its signed entries list does not cover, or lacks some: $odd; ${next}"`,
    ...removeExcluded(next),
    "echo staged=present",
  ];
}

/**
 * Stages a release: verifies the upload's sha256, extracts it into a temporary directory
 * beside releases/, refuses special files and symlinks that leave the release, verifies every
 * file against the manifest, links the shared files, and renames the directory into place. A
 * release already present that verifies is left alone; one that does not is staged afresh.
 * When this release is the live one and drifted (accepted, and archived by the backup step),
 * `current` is first pointed at the fresh copy, so it never points at a missing tree.
 */
export function stageScript(a: StageArgs): string {
  const up = uploadPaths(a.root, a.releaseId);
  const shared = a.sharedFiles.flatMap((f) => [
    `f=${q(f)}`,
    '[ ! -e "$TMP/$f" ] && [ ! -L "$TMP/$f" ] || fail "sharedFiles entry $f is also in the artifact; remove it from the repo or from sharedFiles"',
    'mkdir -p "$(dirname "$TMP/$f")" "$(dirname "$SHARED/$f")"',
    'ln -s "$SHARED/$f" "$TMP/$f"',
  ]);
  const present = [
    ...preamble(a.root, a.exclude),
    ...entriesFunctions(a.exclude ?? [], a.sharedFiles),
    requireLock(a.lockToken),
    `ID=${q(a.releaseId)}`,
    'REL="$RELEASES/$ID"; MAN="$MANIFESTS/$ID.sha256sums"; LINKS="$MANIFESTS/$ID.links"; ENT="$MANIFESTS/$ID.entries"',
    // Leftovers of an interrupted stage of this release, unless an interrupted replacement left
    // current pointing at one.
    'live=$(readlink "$CURRENT" 2>/dev/null || true)',
    // Under the lock no other stage runs: any temporary tree is left from an interrupted one.
    'for t in "$RELEASES/.tmp-"* "$RELEASES/.drifted-"*; do [ -e "$t" ] && [ "$live" != "releases/${t##*/}" ] && rm -rf "$t"; done',
    ...keepEvidence(a.evidence),
  ];
  // A kept release (a rollback by `release`) is only ever verified: nothing here stages it.
  if (a.manifest === undefined || a.links === undefined || a.entries === undefined)
    return script(...present, ...keptStage(a));
  return script(
    ...present,
    // A release staged before is taken only when its lists are this build's and it holds every
    // entry they name and no other: an entry planted beside its files would otherwise go live.
    'same() { [ -f "$1" ] && [ "$(sha256sum < "$1" | cut -c1-64)" = "$2" ]; }',
    `lists() { same "$MAN" ${q(written(a.manifest))} && same "$LINKS" ${q(written(a.links))} && same "$ENT" ${q(written(a.entries))}; }`,
    'if [ -d "$REL" ] && lists && verify_release "$REL" "$MAN" "$LINKS" && [ -z "$(entries_diff "$REL" "$ENT" | grep -v "^excluded ")" ]; then',
    ...removeExcluded(
      `${NOT_SWITCHED}; inspect $REL, then remove it to stage a verified copy, or pulumi config set acceptDrift true to replace it`,
    ).map((l) => `  ${l}`),
    "  keep_evidence; echo staged=present; exit 0",
    "fi",
    `UP=${q(up.artifact)}`,
    // The upload resource does not run again while its inputs are unchanged: replacing it does.
    `REUPLOAD=${q(a.reupload)}`,
    // A staged release that no longer matches its manifest was changed on the server: it is
    // evidence, so it is never switched to nor silently replaced.
    // With acceptDrift, both are replaced by a verified copy (the backup step archived the live one).
    ...(a.acceptDrift
      ? []
      : [
          'if [ -e "$REL" ] && [ "$live" != "releases/$ID" ]; then',
          '  bad=$(first_differing "$REL" "$MAN")',
          `  lists || bad="its manifest, links file or entries list on the server is not this build's"`,
          `  [ -n "$bad" ] || bad=$(entries_diff "$REL" "$ENT" | grep -v "^excluded " | ${WORDS})`,
          '  block "release $ID on the server does not match its manifest${bad:+ ($bad differs)}: it was changed after it was staged; ' +
            `${NOT_SWITCHED}; inspect $REL, then remove it to stage a verified copy, or pulumi config set acceptDrift true to replace it"`,
          "fi",
          'why=""; lists || why=" (its manifest, links file or entries list is not this build\'s)"',
          '[ ! -e "$REL" ] || [ "$live" != "releases/$ID" ] || ' +
            `block "the live release $ID was modified on the server (drift)$why; ${NOT_SWITCHED}; bring the change into the repo with npm run reconcile, or pulumi config set acceptDrift true to replace it after a backup"`,
        ]),
    `[ -f "$UP" ] || block "artifact $UP is not on the server; ${NOT_SWITCHED}; upload it again: $REUPLOAD"`,
    // Hashed from stdin, so that the path's own characters can never make a good upload look bad.
    'got=$(sha256sum < "$UP" | cut -c1-64)',
    `[ "$got" = ${q(a.sha256)} ] || ` +
      `block "uploaded artifact $UP has sha256 $got, not ${a.sha256} (a corrupted upload); ${NOT_SWITCHED}; upload it again: $REUPLOAD"`,
    // Nothing is created before the upload is known good: a refusal leaves the server as it was.
    'mkdir -p "$RELEASES" "$SHARED" "$BACKUPS" "$MANIFESTS"',
    'TMP="$RELEASES/.tmp-$ID-$$"',
    `fail() { rm -rf "$TMP"; block "$* (release $ID); ${NOT_SWITCHED}"; }`,
    'mkdir "$TMP"',
    ...heredoc('"$TMP.sha256sums"', a.manifest),
    ...heredoc('"$TMP.links"', a.links),
    ...heredoc('"$TMP.entries"', a.entries),
    'unlist() { rm -f "$TMP.sha256sums" "$TMP.links" "$TMP.entries"; }',
    "trap unlist EXIT",
    'st=0; tar -xzf "$UP" -C "$TMP" --no-same-owner 2>"$TMP.err" || st=$?',
    // GNU tar skips a member with ".." and strips a leading "/": either means a crafted archive.
    `slip=$(sed -n "s/^tar: \\(.*\\): Member name contains '..'$/\\1/p" "$TMP.err" | head -n 1)`,
    `[ -n "$slip" ] || slip=$(sed -n "s/^tar: Removing leading \\(.*\\) from member names$/a name starting with \\1/p" "$TMP.err" | head -n 1)`,
    '[ -z "$slip" ] || { rm -f "$TMP.err"; fail "the artifact holds a path that leaves the release: $slip"; }',
    '[ "$st" -eq 0 ] || { e=$(head -n 3 "$TMP.err"); rm -f "$TMP.err"; fail "the artifact does not extract: $e"; }',
    'rm -f "$TMP.err"',
    'bad=$(find "$TMP" ! -type f ! -type d ! -type l | head -n 1)',
    '[ -z "$bad" ] || fail "the artifact holds a special file: ${bad#"$TMP"/}"',
    // realpath -m resolves each link fully; any name is safe, spaces and newlines included.
    'esc=$(find "$TMP" -type l -exec sh -c \'for l; do case "$(realpath -m "$l")" in "$0"/*) ;; *) printf "%s\\n" "${l#"$0"/}"; exit 0;; esac; done\' "$TMP" {} + | head -n 1)',
    '[ -z "$esc" ] || fail "symlink $esc points outside the release"',
    'verify_release "$TMP" "$TMP.sha256sums" "$TMP.links" || fail "extracted files do not match the manifest"',
    // The list is checked where it is written: a rollback later holds the tree to it.
    `odd=$(entries_diff "$TMP" "$TMP.entries" | ${WORDS})`,
    '[ -z "$odd" ] || fail "the extracted release differs from its entries list: $odd"',
    ...shared,
    // A fresh copy is not prepared yet, whatever an earlier copy of the release was.
    'P="$R/.deploy/prepared"',
    'if [ -f "$P" ]; then grep -vxF "$ID" "$P" > "$P.tmp-$$" || true; mv "$P.tmp-$$" "$P"; fi',
    'mv "$TMP.sha256sums" "$MAN"',
    'mv "$TMP.links" "$LINKS"',
    'mv "$TMP.entries" "$ENT"',
    'if [ -e "$REL" ] && [ "$live" = "releases/$ID" ]; then',
    '  swap() { ln -sfn "$1" "$R/.current.tmp-$$" && mv -T "$R/.current.tmp-$$" "$CURRENT"; }',
    '  swap "releases/${TMP##*/}"',
    '  mv -T "$REL" "$RELEASES/.drifted-$ID-$$"',
    '  cp -al "$TMP" "$REL"',
    '  swap "releases/$ID"',
    '  rm -rf "$TMP" "$RELEASES/.drifted-$ID-$$"',
    "  keep_evidence",
    "  echo staged=replaced-drifted",
    "  exit 0",
    "fi",
    'rm -rf "$REL"',
    'mv -T "$TMP" "$REL"',
    "keep_evidence",
    "echo staged=new",
  );
}

/**
 * The upload for target local: the artifact copied under a temporary name, then renamed, so
 * an upload that exists is always whole (as CopyToRemote's is once it reports success).
 */
export function localCopyScript(localPath: string, remotePath: string): string {
  const dir = remotePath.slice(0, remotePath.lastIndexOf("/"));
  return script(
    `mkdir -p ${q(dir)}`,
    `cp ${q(localPath)} ${q(`${remotePath}.tmp`)}`,
    `mv ${q(`${remotePath}.tmp`)} ${q(remotePath)}`,
  );
}
