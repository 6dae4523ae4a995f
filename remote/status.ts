import { KillSwitchSpec } from "../config/deploy";
import { preamble } from "./preamble";
import { keyValues, script } from "./sh";
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
): string {
  return [
    surveyScript(root, killSwitch.file, [], exclude),
    script(
      ...preamble(root, exclude),
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
  const releases = [
    ...stdout.matchAll(/^kept=(\S+) (verified|failed|live) (proved|unproved) (evidence|none)$/gm),
  ].map((m): KeptRelease => ({
    id: m[1],
    verified: m[2] === "verified" || (m[2] === "live" && liveIntact),
    proved: m[3] === "proved",
    evidence: m[4] === "evidence",
    ...(differs.get(m[1]) ? { differs: differs.get(m[1]) } : {}),
  }));
  return {
    survey,
    releases,
    revisions: Buffer.from(kv.revisions_b64 ?? "", "base64").toString("utf8"),
  };
}
