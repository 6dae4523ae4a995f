import { expect } from "chai";
import { isDeepStrictEqual } from "node:util";
import { blockedLine } from "../../remote/sh";
import { EngineRun } from "../../testbed/events";
import { snapshot } from "./release";
import { tally } from "./tally";

/**
 * The exact refusal a run ended with: a blocked report's gap, a config error's problem lines,
 * the BLOCKED line of a server step that refused, or the CLI's own refusal of the stack's
 * settings before the program ran (a value not of the type Pulumi.yaml declares, a required
 * key unset). Undefined when the run did not refuse.
 */
export function refusalOf(err: Error | undefined): string | undefined {
  if (err === undefined) return undefined;
  const gap = /^## 1\. The exact gap\n\n([\s\S]*?)\n\n## 2\. /m.exec(err.message);
  if (gap) return gap[1];
  const cli = /^error: (validating stack config: .*)$/m.exec(err.message);
  if (cli) return cli[1];
  if (/^BLOCKED: invalid configuration, /.test(err.message))
    return err.message.split("\n").slice(1).join("\n");
  return blockedLine(err.message);
}

/** A snapshot of the deploy root without the uploads, which an upload that ran has changed. */
export function snapshotBesideUploads(root: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(snapshot(root)).filter(([k]) => !k.startsWith(".deploy/uploads/")),
  );
}

/**
 * Asserts that the refusal `got` is exactly `refusal` (a pattern, anchored at both ends, only
 * where the text holds a clock or a test tool's own timing) and that `after` equals `before`
 * (snapshots of the server), and counts the case in the reliability figures either way.
 */
export function expectRefused(
  category: string,
  got: string | undefined,
  refusal: string | RegExp,
  before: Record<string, string>,
  after: Record<string, string>,
): void {
  const exact = typeof refusal === "string" ? got === refusal : refusal.test(got ?? "");
  tally.inputs.push({ category, held: exact && isDeepStrictEqual(before, after) });
  if (typeof refusal === "string") expect(got).to.equal(refusal);
  else expect(got).to.match(refusal);
  expect(after).to.deep.equal(before);
}

/** expectRefused for a program run, with its whole error shown when the refusal differs. */
export function expectRunRefused(
  category: string,
  run: EngineRun,
  refusal: string | RegExp,
  before: Record<string, string>,
  after: Record<string, string>,
): void {
  const got = refusalOf(run.error);
  if (got === undefined) expect.fail(`not refused: ${run.error?.message ?? "the run succeeded"}`);
  expectRefused(category, got, refusal, before, after);
}

/**
 * What a refusal before the switch must leave as it was: where current points, every file of
 * the live release, shared/ (the kill-switch among it), and no lock. Staging a release beside
 * it, an upload and a backup archive may remain; none of them is live.
 */
export function liveState(root: string): Record<string, string> {
  const all = snapshot(root);
  const live = all.current?.replace(/^-> /, "") ?? "";
  return Object.fromEntries(
    Object.entries(all).filter(
      ([k]) =>
        k === "current" ||
        (live !== "" && k.startsWith(`${live}/`)) ||
        k.startsWith("shared/") ||
        k.startsWith(".deploy/lock"),
    ),
  );
}
