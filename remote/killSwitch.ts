import { KillSwitchSpec } from "../config/deploy";
import { preamble } from "./preamble";
import { recordKillSwitchLines } from "./promote";
import { q, script } from "./sh";

/** The whole file the declared state stands for. Exported for testing. */
export function renderKillSwitch(s: KillSwitchSpec): string {
  return s.format === "json"
    ? `${JSON.stringify({ [s.key]: s.value })}\n`
    : `${s.key}=${s.value}\n`;
}

/**
 * Reads the key's value back from a file's text: true or false, or undefined when the file
 * does not state it plainly (a missing key, another type, an unreadable file).
 */
export function readKillSwitch(
  text: string | undefined,
  s: Pick<KillSwitchSpec, "key" | "format">,
): boolean | undefined {
  if (text === undefined) return undefined;
  if (s.format === "json") {
    try {
      const v = (JSON.parse(text) as Record<string, unknown>)[s.key];
      return typeof v === "boolean" ? v : undefined;
    } catch {
      return undefined;
    }
  }
  const line = text.split("\n").find((l) => l.startsWith(`${s.key}=`));
  const v = line
    ?.slice(s.key.length + 1)
    .trim()
    .toLowerCase();
  return v === "true" ? true : v === "false" ? false : undefined;
}

/**
 * Lines that write the declared file atomically (temporary name, then rename), print it back as
 * base64, and refuse unless it reads back as declared: the caller compares what is on disk,
 * not what it meant to write. `after` ends each refusal: what the refusal left.
 */
export function killSwitchWriteLines(s: KillSwitchSpec, after: string): string[] {
  const text = renderKillSwitch(s);
  return [
    `F="$SHARED/"${q(s.file)}`,
    `[ ! -d "$F" ] || block "the kill-switch file $F is a directory, so ${s.key}=${s.value} cannot be written; ${after}"`,
    'mkdir -p "$(dirname "$F")"',
    // What an interrupted write left; the deploy lock keeps any other writer out.
    'rm -f "$F.tmp-"*',
    `printf '%s' ${q(text)} > "$F.tmp-$$"`,
    'mv "$F.tmp-$$" "$F"',
    'echo "killswitch_b64=$(base64 -w 0 < "$F")"',
    `[ "$(cat "$F")" = ${q(text.trimEnd())} ] || block "the kill-switch file $F does not read back as ${s.key}=${s.value}; ${after}"`,
  ];
}

/**
 * The kill-switch step before the switch. OFF is safe for any release, so a declared OFF is
 * written here, before the staged probes, and checked; a refusal leaves current where it was
 * and the switch off. ON is never written before the switch: a deploy refused after that would
 * leave the old release running live. It is only read here, and written once current has
 * moved (see the proof). Either way the file as it was is recorded first, for a revert.
 */
export function killSwitchStepScript(
  root: string,
  releaseId: string,
  s: KillSwitchSpec,
  after: string,
): string {
  // What the file held before this deploy, for a revert to put back.
  const record = [`ID=${q(releaseId)}`, `F="$SHARED/"${q(s.file)}`, ...recordKillSwitchLines()];
  if (!s.value) return script(...preamble(root), ...record, ...killSwitchWriteLines(s, after));
  return script(
    ...preamble(root),
    ...record,
    '[ ! -f "$F" ] || echo "killswitch_b64=$(base64 -w 0 < "$F")"',
    "echo killswitch_on=after-switch",
  );
}

/** What `pulumi destroy` runs: the switch goes OFF, never ON. */
export function disableKillSwitchScript(root: string, s: KillSwitchSpec): string {
  return script(
    ...preamble(root),
    ...killSwitchWriteLines({ ...s, value: false }, "the release was left in place"),
  );
}
