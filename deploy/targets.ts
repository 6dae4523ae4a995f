import * as os from "node:os";
import * as pulumi from "@pulumi/pulumi";
import { Endpoint } from "./commands";
import { GateResult, gate } from "../gates/gate";
import { BackupResult } from "./backup";
import { HostSummary } from "./hostDeployment";
import { LockInfo } from "../remote/lock";
import { StackConfig } from "../config/stack";
import { SurveyedHost } from "../survey/serverSurvey";
import { short } from "../lib/hash";

/**
 * Who deploys. The token names the deploy source (user, machine, project directory, stack), so
 * a re-run from the same place re-enters its own lock and a second working copy cannot.
 */
export function lockInfoFor(stack: string, cwd = process.cwd()): Omit<LockInfo, "artifact"> {
  const user = os.userInfo().username;
  const host = os.hostname();
  return { token: `${user}@${host}:${cwd}:${stack}`, holder: user, host };
}

/** The endpoint a host's commands run on; the key stays a secret Output inside the connection. */
export function endpointFor(h: SurveyedHost, config: StackConfig): Endpoint {
  if (!h.spec) return { kind: "local" };
  return {
    kind: "ssh",
    connection: {
      host: h.spec.host,
      port: h.spec.port,
      user: h.spec.user,
      hostKey: h.spec.hostKey,
      privateKey: config.ssh.privateKey,
      privateKeyPassword: config.ssh.passphrase.apply((p) =>
        p === "" ? undefined : p,
      ) as pulumi.Output<string>,
      dialErrorLimit: 3,
    },
  };
}

/** Gates G5–G7 in a preview: what up would do, run by nobody yet. Exported for testing. */
export function previewGates(hosts: readonly SurveyedHost[], releaseId: string): GateResult[] {
  const plan = hosts
    .map(
      (h) =>
        `${h.name}: ${h.staged ? "already staged, no upload" : "upload and stage"} ${releaseId}, keep or archive the live tree, switch current` +
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
      `${n}: ${s.promoted} ${s.previous || "nothing"} -> ${s.releaseId} (staged ${s.staged}), ${describeBackup(s.backup)}`,
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
