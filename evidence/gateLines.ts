import { BackupResult } from "../remote/backup";
import { HostSummary } from "../deploy/hostSummary";
import { gate, GateResult } from "../gates/gate";
import { short } from "../lib/hash";
import { SurveyedHost } from "../survey/serverSurvey";

/** Gates G5–G7 in a preview: what up would do, run by nobody yet. Exported for testing. */
export function previewGates(hosts: readonly SurveyedHost[], releaseId: string): GateResult[] {
  const switching = "keep or archive the live tree, switch current";
  const plan = hosts
    .map(
      (h) =>
        `${h.name}: ` +
        (!h.onServer
          ? `upload and stage ${releaseId}, ${switching}`
          : h.staged
            ? `already staged, no upload ${releaseId}, ${switching}`
            : `${releaseId} already live, no upload`) +
        (h.departures.length > 0 ? ` (and restore: ${h.departures.join(", ")})` : ""),
    )
    .join("; ");
  return [
    gate("G5", "SKIPPED", `preview, would: ${plan}`),
    gate("G6", "SKIPPED", "preview: the post-deploy proof runs after the switch"),
    gate("G7", "SKIPPED", "preview: the previous release stays staged for rollback"),
  ];
}

/** How the tree live before the switch can be restored, in words. Exported for testing. */
export function describeBackup(b: BackupResult): string {
  switch (b.kind) {
    case "archive":
      return `backup ${b.path} (sha256 ${short(b.sha256 ?? "unknown")})`;
    case "release":
      return `backup not needed: ${b.path} matched its manifest and stays staged`;
    case "none":
      return "backup not needed: nothing was live";
    case "not-needed":
      return "backup not needed: the release was already live";
    default:
      return `backup ${b.path}`;
  }
}

/** Gates G5–G7 after an up, from what each host reported. Exported for testing. */
export function deployedGates(summaries: Record<string, HostSummary>): GateResult[] {
  const hosts = Object.entries(summaries);
  const g5 = hosts.map(
    ([n, s]) =>
      `${n}: ${s.promoted} ${s.previous || "nothing"} -> ${s.releaseId} (staged ${s.staged}), ${describeBackup(s.backup)}` +
      // Said only where the server checked it: a stack without trustedKeys reads as before.
      (s.signature?.startsWith("verified") ? `; signature ${s.signature}` : ""),
  );
  const g6 = hosts.map(
    ([n, s]) =>
      `${n}: current verified, kill-switch ${s.killSwitch.readBack}, ${s.proof.probes.length} probe(s), ${s.proof.invariants.length} invariant(s), restarted ${s.restarted}`,
  );
  const g7 = hosts.map(
    ([n, s]) =>
      `${n}: ${s.previous ? `previous release ${s.previous} kept` : "no previous release"}`,
  );
  return [
    gate("G5", "PASS", g5.join("; ")),
    gate("G6", hosts.every(([, s]) => s.proof.passed) ? "PASS" : "FAIL", g6.join("; ")),
    gate(
      "G7",
      "PASS",
      `${g7.join("; ")}; roll back with pulumi config set ref <earlier commit> && pulumi up`,
    ),
  ];
}
