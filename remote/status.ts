import { KillSwitchSpec } from "../config/deploy";
import { entriesFunctions, layout, preamble } from "./preamble";
import { keyValues, q, script } from "./sh";
import { parseSurvey, surveyScript, SurveyReading } from "./survey";

/** Each release kept on a server: whether it still matches its manifest, and whether it passed its proof. */
export interface KeptRelease {
  id: string;
  verified: boolean;
  proved: boolean;
  /** Whether its first deploy's signed evidence is kept beside it: `release` can name it. */
  evidence: boolean;
  /** The first file that differs, when it does not verify. */
  differs?: string;
  /** The kept evidence's text, for a check with a public key. */
  evidenceText?: string;
  /** sha256 of its manifest, links file and entries list, as the server holds them. */
  digests?: { manifestSha256?: string; linksSha256?: string; entriesSha256?: string };
  /** How many entries of its tree its entries list does not cover (or lacks). */
  uncovered?: number;
}

/** What `npm run status` reads from one server, in one connection. */
export interface ServerStatus {
  survey: SurveyReading;
  releases: KeptRelease[];
  /** The revisions log's text: each switch, hash-chained. */
  revisions: string;
}

/**
 * Read-only: the survey (live release, drift, lock, kill-switch), then every release kept in
 * releases/ verified against its manifest, and the revisions log. Nothing is written.
 */
export function statusScript(
  root: string,
  killSwitch: Pick<KillSwitchSpec, "file">,
  exclude: readonly string[],
  sharedFiles: readonly string[] = [],
): string {
  return [
    surveyScript(root, killSwitch.file, [], exclude),
    script(
      ...preamble(root, exclude),
      ...entriesFunctions(exclude, sharedFiles),
      // The live release was hashed once already, by the survey's drift check.
      'live=$(readlink "$CURRENT" 2>/dev/null || true)',
      'for d in "$RELEASES"/*; do',
      '  [ -d "$d" ] || continue',
      "  id=${d##*/}",
      '  if [ "$live" = "releases/$id" ]; then v=live',
      '  elif verify_release "$d" "$MANIFESTS/$id.sha256sums" "$MANIFESTS/$id.links"; then v=verified; else v=failed; fi',
      '  p=unproved; [ -f "$PROVED" ] && grep -qxF "$id" "$PROVED" && p=proved',
      '  e=none; [ -f "$MANIFESTS/$id.intoto.jsonl" ] && e=evidence',
      '  echo "kept=$id $v $p $e"',
      '  [ "$v" != failed ] || echo "kept_differs=$id $(first_differing "$d" "$MANIFESTS/$id.sha256sums")"',
      // What a check of its evidence with a public key needs: the evidence, the digests of the
      // files it must name, and the entries its list does not cover.
      '  if [ "$e" != none ]; then',
      '    echo "kept_evidence=$id $(base64 -w 0 < "$MANIFESTS/$id.intoto.jsonl")"',
      '    for f in sha256sums links entries; do [ ! -f "$MANIFESTS/$id.$f" ] || echo "kept_digest=$id $f $(sha256sum < "$MANIFESTS/$id.$f" | cut -c1-64)"; done',
      '    [ ! -f "$MANIFESTS/$id.entries" ] || echo "kept_uncovered=$id $(entries_diff "$d" "$MANIFESTS/$id.entries" | grep -vc "^excluded " || true)"',
      "  fi",
      "done",
      '[ -f "$REVISIONS" ] && echo "revisions_b64=$(base64 -w 0 < "$REVISIONS")"',
      "echo status=done",
    ),
  ].join("\n");
}

/**
 * Reads statusScript's output. The live release verifies when the survey's drift check found
 * nothing but what `ignored` (the excludes) names. Exported for testing.
 */
export function parseStatus(
  stdout: string,
  ignored: (path: string) => boolean = () => false,
): ServerStatus {
  const kv = keyValues(stdout);
  if (kv.status !== "done")
    throw new Error(`the status read did not finish: ${stdout.slice(-300)}`);
  const differs = new Map(
    [...stdout.matchAll(/^kept_differs=(\S+) ?(.*)$/gm)].map((m) => [m[1], m[2]]),
  );
  const survey = parseSurvey(stdout, 0);
  const d = survey.drift;
  const liveIntact =
    d !== undefined && d.modified.length + d.added.filter((p) => !ignored(p)).length === 0;
  const byId = (key: string) =>
    new Map(
      [...stdout.matchAll(new RegExp(`^${key}=(\\S+) (.*)$`, "gm"))].map((m) => [m[1], m[2]]),
    );
  const evidence = byId("kept_evidence");
  const uncovered = byId("kept_uncovered");
  const digests = new Map<string, Record<string, string>>();
  for (const m of stdout.matchAll(/^kept_digest=(\S+) (sha256sums|links|entries) (\S+)$/gm)) {
    const key = { sha256sums: "manifestSha256", links: "linksSha256", entries: "entriesSha256" }[
      m[2]
    ]!;
    digests.set(m[1], { ...digests.get(m[1]), [key]: m[3] });
  }
  const releases = [
    ...stdout.matchAll(/^kept=(\S+) (verified|failed|live) (proved|unproved) (evidence|none)$/gm),
  ].map((m): KeptRelease => ({
    id: m[1],
    verified: m[2] === "verified" || (m[2] === "live" && liveIntact),
    proved: m[3] === "proved",
    evidence: m[4] === "evidence",
    ...(differs.get(m[1]) ? { differs: differs.get(m[1]) } : {}),
    ...(evidence.has(m[1])
      ? { evidenceText: Buffer.from(evidence.get(m[1])!, "base64").toString("utf8") }
      : {}),
    ...(digests.has(m[1]) ? { digests: digests.get(m[1]) } : {}),
    ...(uncovered.has(m[1]) ? { uncovered: Number(uncovered.get(m[1])) } : {}),
  }));
  return {
    survey,
    releases,
    revisions: Buffer.from(kv.revisions_b64 ?? "", "base64").toString("utf8"),
  };
}

/** What `npm run history -- --servers` reads from one server, in one connection. */
export interface RevisionsLogRead {
  /** Whether the deploy root exists: without it nothing was ever deployed there. */
  rootPresent: boolean;
  /** The revisions log's text, empty when there is none yet. */
  revisions: string;
}

/**
 * Read-only: whether the deploy root exists, and the revisions log. Only the log: the status
 * read would also hash every kept release, which history does not need. Nothing is written.
 */
export function revisionsLogScript(root: string): string {
  const l = layout(root);
  return script(
    `R=${q(l.root)}`,
    `REVISIONS=${q(l.revisions)}`,
    'if [ -d "$R" ]; then echo root=present; else echo root=absent; fi',
    '[ ! -f "$REVISIONS" ] || echo "revisions_b64=$(base64 -w 0 < "$REVISIONS")"',
    "echo log=done",
  );
}

/** Reads revisionsLogScript's output. Exported for testing. */
export function parseRevisionsLog(stdout: string): RevisionsLogRead {
  const kv = keyValues(stdout);
  if (kv.log !== "done")
    throw new Error(`the revisions log read did not finish: ${stdout.slice(-300)}`);
  return {
    rootPresent: kv.root === "present",
    revisions: Buffer.from(kv.revisions_b64 ?? "", "base64").toString("utf8"),
  };
}
