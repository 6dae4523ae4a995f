import { KeptCopy } from "../gates/rollback";
import { Invariant } from "../config/deploy";
import { entriesFunctions, entryWords, preamble } from "./preamble";
import { keyValues, q, script } from "./sh";
import { parseRevert, RevertRecord } from "./promote";

/** What the read-only survey found on one server. */
export interface SurveyReading {
  /** What `current` is: a symlink (this tool's layout), a plain directory, nothing, or else. */
  layout: "symlink" | "directory" | "absent" | "other";
  live?: string;
  /** The revisions-log entry of the live release, when there is one. */
  liveCommit?: string;
  /** The release that was live before the live one, from the same entry: what a rollback takes. */
  livePrevious?: string;
  /** sha256 of the live release's manifest: the deployed tree's digest. */
  liveManifestSha256?: string;
  /** Files of the live release that differ from its manifest; undefined when it has none. */
  drift?: { modified: string[]; added: string[]; sha256: Record<string, string> };
  lock?: {
    token: string;
    holder: string;
    host: string;
    since: string;
    artifact: string;
    /** Seconds since "since", on the server's clock. */
    ageSeconds: number;
    /** Whether the shell that took it still runs there, and its pid when it does. */
    alive: boolean;
    pid?: string;
  };
  diskFreeBytes: number;
  /** Whether deployRoot exists (a first deploy creates it). */
  rootPresent: boolean;
  /** The first directory of the layout the login user cannot write to, if any. */
  unwritable?: string;
  /**
   * What stands where the root or one of its parents must be a directory (a file, a link to
   * nowhere), and what kind of thing it is: the root cannot be created under it.
   */
  rootBlocker?: { path: string; kind: string };
  loginUser?: string;
  /** The kill-switch file's text, when it exists. */
  killSwitchText?: string;
  /** Each invariant's output now, before any change; undefined when nothing is live to run it in. */
  invariants: (string | undefined)[];
  /** The revisions log's last entry when it is a revert: the deploy before this one undone. */
  lastRevert?: RevertRecord;
}

/**
 * The survey: reads the layout, the live release and its drift from the manifest, the lock,
 * the free disk, the kill-switch and the invariants. It writes nothing on the server.
 */
export function surveyScript(
  root: string,
  killSwitchFile: string,
  invariants: readonly Pick<Invariant, "name" | "command">[],
  exclude: readonly string[] = [],
): string {
  return script(
    ...preamble(root, exclude),
    'if [ -L "$CURRENT" ]; then',
    "  echo layout=symlink",
    '  live=$(basename "$(readlink "$CURRENT")"); echo "live=$live"',
    // The entry that switched to it: a revert back to it names the bad release as its previous.
    '  entry=$( [ -f "$REVISIONS" ] && grep -F "\\"releaseId\\":\\"$live\\"" "$REVISIONS" | grep -vF \'"event":"revert"\' | tail -n 1 || true)',
    '  printf \'%s\\n\' "$entry" | sed -n \'s/.*"commit":"\\([0-9a-f]*\\)".*/live_commit=\\1/p\'',
    '  printf \'%s\\n\' "$entry" | sed -n \'s/.*"previous":"\\([^"]*\\)".*/live_previous=\\1/p\'',
    '  MAN="$MANIFESTS/$live.sha256sums"; LINKS="$MANIFESTS/$live.links"',
    '  if [ -f "$MAN" ] && [ -f "$LINKS" ]; then',
    "    echo manifest=present",
    '    echo "manifest_sha256=$(sha256sum < "$MAN" | cut -c1-64)"',
    // Two halves hashed at once; line-buffered, so their FAILED lines never interleave.
    '    half() { sed -n "$1~2p" "$MAN" | stdbuf -oL sha256sum -c --quiet - 2>/dev/null || true; }',
    // Each drifted path with the sha256 it has now (none when missing), for the reconcile check.
    '    report() { while IFS= read -r p; do echo "$1=$p"; [ ! -f "$CURRENT/$p" ] || [ -L "$CURRENT/$p" ] || echo "drift_sha256=$(sha256sum < "$CURRENT/$p" | cut -c1-64) $p"; done; }',
    '    ( cd "$CURRENT/" && { half 1 & half 2; wait; } ) | sed -n "s/: FAILED.*$//p" | report drift_modified',
    '    { cut -c67- "$MAN" | sed "s/^/M /"; ( cd "$CURRENT/" && find . -type f ) | sed "s|^\\./|F |"; } | ' +
      "awk 'substr($0,1,2)==\"M \"{m[substr($0,3)]=1; next} !(substr($0,3) in m){print substr($0,3)}' | report drift_added",
    "    tab=$(printf '\\t')",
    '    while IFS="$tab" read -r p t; do [ "$(readlink "$CURRENT/$p")" = "$t" ] || echo "drift_modified=$p"; done < "$LINKS"',
    "  fi",
    'elif [ -d "$CURRENT" ]; then echo layout=directory',
    'elif [ -e "$CURRENT" ]; then echo layout=other',
    "else echo layout=absent; fi",
    'if [ -f "$LOCK/info" ]; then',
    '  sed -n "s/^\\(token\\|holder\\|host\\|since\\|artifact\\)=/lock_\\1=/p" "$LOCK/info"',
    '  echo "lock_age=$(lock_age)"',
    '  if lock_holder_alive; then echo "lock_pid=$(lock_field pid)"; echo lock_alive=yes; else echo lock_alive=no; fi',
    'elif [ -e "$LOCK" ]; then echo lock_holder=unknown; echo lock_age=0; fi',
    // The nearest part of the root that exists: anything but a directory there (a file, a
    // dangling link) means the root can never be created.
    '[ ! -d "$R" ] || echo root=present',
    'b="$R"; while [ ! -e "$b" ] && [ ! -L "$b" ]; do b=$(dirname "$b"); done',
    '[ -d "$b" ] || { echo "root_blocker=$b"; echo "root_blocker_kind=$(stat -c %F "$b" 2>/dev/null || echo unknown)"; }',
    'd="$b"; while [ ! -d "$d" ]; do d=$(dirname "$d"); done',
    'echo "disk_free_kb=$(df -Pk "$d" | awk \'NR==2 {print $4}\')"',

    // The first directory of the layout (or, before the first deploy, the nearest existing
    // parent of the root) that the login user cannot write to.
    'for x in "$d" "$RELEASES" "$R/.deploy" "$MANIFESTS" "$UPLOADS" "$SHARED" "$BACKUPS"; do [ ! -d "$x" ] || [ -w "$x" ] || { echo "unwritable=$x"; break; }; done',
    'echo "login_user=$(id -un)"',
    `F="$SHARED/"${q(killSwitchFile)}`,
    '[ -f "$F" ] && echo "killswitch_b64=$(base64 -w 0 < "$F")"',
    // With nothing live there is no "before" to hold an invariant to: it is not measured.
    ...invariants.flatMap((v, i) => [
      'if [ -d "$CURRENT/" ]; then',
      `  out=$(cd "$CURRENT/" && sh -c ${q(v.command)} 2>&1 || true)`,
      `  echo "invariant_${i}_b64=$(printf '%s' "$out" | base64 -w 0)"`,
      `else echo invariant_${i}=unmeasured; fi`,
    ]),
    // A revert as the log's last entry: the last deploy failed its live proof and was undone.
    'last=$( [ -f "$REVISIONS" ] && sed -n \'$p\' "$REVISIONS" || true)',
    'case "$last" in *\'"event":"revert"\'*) echo "last_revert_b64=$(printf \'%s\' "$last" | base64 -w 0)" ;; esac',
    "echo survey=done",
  );
}

/**
 * Whether a release is staged on the target and verifies against its manifest: asked after
 * G4, when the release id is known, on the survey's open connection. Read-only.
 */
export function targetScript(
  root: string,
  releaseId: string,
  exclude: readonly string[] = [],
): string {
  return script(...preamble(root, exclude), `ID=${q(releaseId)}`, ...releaseState("target"));
}

/**
 * `<key>=present` when release $ID is staged and verifies against its manifest, `bad` (with
 * `<key>_differs=`, the first file that differs, for the refusal; none when only the file count
 * or a link differs) when it is there and does not, `absent` otherwise.
 */
function releaseState(key: string): string[] {
  return [
    `if verify_release "$RELEASES/$ID" "$MANIFESTS/$ID.sha256sums" "$MANIFESTS/$ID.links"; then echo ${key}=present`,
    `elif [ -e "$RELEASES/$ID" ]; then echo ${key}=bad`,
    `  first_differing "$RELEASES/$ID" "$MANIFESTS/$ID.sha256sums" | sed "s/^/${key}_differs=/"`,
    `else echo ${key}=absent; fi`,
  ];
}

/** Reads targetScript's answer; `differs` is the first file of a bad release that differs. */
export function parseTarget(stdout: string): {
  state: "present" | "absent" | "bad";
  differs?: string;
} {
  const m = /^target=(present|absent|bad)$/m.exec(stdout);
  if (!m) throw new Error(`the target check did not finish: ${stdout.slice(-500)}`);
  const differs = /^target_differs=(.+)$/m.exec(stdout)?.[1];
  return { state: m[1] as "present" | "absent" | "bad", ...(differs ? { differs } : {}) };
}

/** Parses the survey's output. Exported for testing. */
export function parseSurvey(stdout: string, invariantCount: number): SurveyReading {
  const single: Record<string, string> = {};
  const modified: string[] = [];
  const added: string[] = [];
  const sha256: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    const [k, v] = [line.slice(0, eq), line.slice(eq + 1)];
    if (k === "drift_sha256") sha256[v.slice(65)] = v.slice(0, 64);
    else if (k === "drift_modified") modified.push(v);
    else if (k === "drift_added") added.push(v);
    else single[k] = v;
  }
  if (single.survey !== "done")
    throw new Error(`the server survey did not finish: ${stdout.slice(-500)}`);
  const b64 = (s?: string) =>
    s === undefined ? undefined : Buffer.from(s, "base64").toString("utf8");
  return {
    layout: single.layout as SurveyReading["layout"],
    live: single.live,
    liveCommit: single.live_commit,
    livePrevious: single.live_previous,
    liveManifestSha256: single.manifest_sha256,
    drift:
      single.manifest === "present"
        ? { modified: [...new Set(modified)].sort(), added: added.sort(), sha256 }
        : undefined,
    lock:
      single.lock_holder === undefined
        ? undefined
        : {
            token: single.lock_token ?? "",
            holder: single.lock_holder,
            host: single.lock_host ?? "unknown",
            since: single.lock_since ?? "unknown",
            artifact: single.lock_artifact ?? "unknown",
            ageSeconds: Number(single.lock_age ?? 0),
            alive: single.lock_alive === "yes",
            ...(single.lock_pid ? { pid: single.lock_pid } : {}),
          },
    diskFreeBytes: Number(single.disk_free_kb ?? 0) * 1024,
    rootPresent: single.root === "present",
    unwritable: single.unwritable,
    rootBlocker:
      single.root_blocker === undefined
        ? undefined
        : { path: single.root_blocker, kind: single.root_blocker_kind ?? "unknown" },
    loginUser: single.login_user,
    killSwitchText: b64(single.killswitch_b64),
    invariants: Array.from({ length: invariantCount }, (_, i) =>
      single[`invariant_${i}`] === "unmeasured"
        ? undefined
        : (b64(single[`invariant_${i}_b64`]) ?? ""),
    ),
    lastRevert: parseRevert(b64(single.last_revert_b64)),
  };
}

/**
 * Read-only: whether `releaseId` is staged and matches its manifest, the digests of its
 * manifest, links file and entries list (which its signed provenance must name), every entry of
 * its tree that the entries list does not cover, its proof and failure records and its kept
 * evidence; and which other releases a rollback could take (not hashed here: only the chosen
 * one is verified).
 */
export function keptScript(
  root: string,
  releaseId: string,
  exclude: readonly string[],
  sharedFiles: readonly string[] = [],
): string {
  return script(
    ...preamble(root, exclude),
    ...entriesFunctions(exclude, sharedFiles),
    `ID=${q(releaseId)}`,
    'REL="$RELEASES/$ID"; MAN="$MANIFESTS/$ID.sha256sums"; EV="$MANIFESTS/$ID.intoto.jsonl"',
    'LINKS="$MANIFESTS/$ID.links"; ENT="$MANIFESTS/$ID.entries"',
    ...releaseState("kept_state"),
    '[ "$(readlink "$CURRENT" 2>/dev/null)" != "releases/$ID" ] || echo kept_live=yes',
    'for f in "$MAN" "$LINKS" "$ENT"; do [ ! -f "$f" ] || echo "kept_${f##*.}_sha256=$(sha256sum < "$f" | cut -c1-64)"; done',
    '[ ! -f "$MAN" ] || echo "kept_files=$(grep -c "" "$MAN" || true)"',
    // Every difference, the first ten of each kind named and all counted.
    '[ ! -d "$REL" ] || [ ! -f "$ENT" ] || entries_diff "$REL" "$ENT" | ' +
      `awk '{ k = $1; c[k]++; if (c[k] <= 10) print "kept_" k "=" substr($0, length(k) + 2) } END { for (k in c) print "kept_" k "_count=" c[k] }'`,
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
  const all = (k: string) =>
    [...stdout.matchAll(new RegExp(`^kept_${k}=(.*)$`, "gm"))].map((m) => m[1]);
  const uncovered = [
    ...all("extra").map(entryWords),
    ...all("missing").map((e) => `${entryWords(e)}, missing`),
  ];
  const extras = Number(kv.kept_extra_count ?? 0) + Number(kv.kept_missing_count ?? 0);
  const excluded = all("excluded");
  // A release that verifies but holds an entry its list does not name is not the signed one.
  const state = kv.kept_state === "present" && extras > 0 ? "bad" : kv.kept_state;
  return {
    state: (state ?? "absent") as KeptCopy["state"],
    ...(kv.kept_state_differs ? { differs: kv.kept_state_differs } : {}),
    ...(kv.kept_sha256sums_sha256 ? { manifestSha256: kv.kept_sha256sums_sha256 } : {}),
    ...(kv.kept_links_sha256 ? { linksSha256: kv.kept_links_sha256 } : {}),
    ...(kv.kept_entries_sha256 ? { entriesSha256: kv.kept_entries_sha256 } : {}),
    uncovered: { named: uncovered, count: extras },
    excluded: { named: excluded, count: Number(kv.kept_excluded_count ?? 0) },
    live: kv.kept_live === "yes",
    files: Number(kv.kept_files ?? 0),
    proved: kv.kept_proved === "yes",
    ...(kv.kept_failed ? { failed: kv.kept_failed } : {}),
    ...(kv.kept_evidence_b64 !== undefined
      ? { evidence: Buffer.from(kv.kept_evidence_b64, "base64").toString("utf8") }
      : {}),
    candidates: [...stdout.matchAll(/^kept_candidate=(\S+)$/gm)].map((m) => m[1]).sort(),
  };
}
