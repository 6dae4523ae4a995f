import { KillSwitchSpec } from "../config/deploy";
import { preamble } from "./preamble";
import { keyValues, script } from "./sh";
import { parseSurvey, surveyScript, SurveyReading } from "./survey";

/** Each release kept on a server: whether it still matches its manifest, and whether it passed its proof. */
export interface KeptRelease {
  id: string;
  verified: boolean;
  proved: boolean;
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
      'for d in "$RELEASES"/*; do',
      '  [ -d "$d" ] || continue',
      "  id=${d##*/}",
      '  if verify_release "$d" "$MANIFESTS/$id.sha256sums" "$MANIFESTS/$id.links"; then v=verified; else v=failed; fi',
      '  p=unproved; [ -f "$PROVED" ] && grep -qxF "$id" "$PROVED" && p=proved',
      '  echo "kept=$id $v $p"',
      '  [ "$v" = verified ] || echo "kept_differs=$id $(first_differing "$d" "$MANIFESTS/$id.sha256sums")"',
      "done",
      '[ -f "$REVISIONS" ] && echo "revisions_b64=$(base64 -w 0 < "$REVISIONS")"',
      "echo status=done",
    ),
  ].join("\n");
}

/** Reads statusScript's output. Exported for testing. */
export function parseStatus(stdout: string): ServerStatus {
  const kv = keyValues(stdout);
  if (kv.status !== "done")
    throw new Error(`the status read did not finish: ${stdout.slice(-300)}`);
  const differs = new Map(
    [...stdout.matchAll(/^kept_differs=(\S+) ?(.*)$/gm)].map((m) => [m[1], m[2]]),
  );
  const releases = [...stdout.matchAll(/^kept=(\S+) (verified|failed) (proved|unproved)$/gm)].map(
    (m): KeptRelease => ({
      id: m[1],
      verified: m[2] === "verified",
      proved: m[3] === "proved",
      ...(differs.get(m[1]) ? { differs: differs.get(m[1]) } : {}),
    }),
  );
  return {
    survey: parseSurvey(stdout, 0),
    releases,
    revisions: Buffer.from(kv.revisions_b64 ?? "", "base64").toString("utf8"),
  };
}
