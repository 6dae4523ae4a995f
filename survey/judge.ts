import { DeployConfig } from "../config/deploy";
import { GateFailure } from "../gates/gate";
import { NOTHING } from "../remote/preamble";
import { readKillSwitch, renderKillSwitch } from "../remote/killSwitch";
import { SshError } from "./ssh";
import { SurveyReading } from "../remote/survey";
import { short } from "../lib/hash";
import { firstTen } from "../lib/text";

/** What a survey is judged against. */
export interface SurveyContext {
  hostName: string;
  where: string;
  stack: string;
  /** This deploy's lock token: a lock with it is ours to re-enter. */
  lockToken: string;
  deploy: DeployConfig;
  /** Paths the artifact never holds (caches, .env, …): a file there is not drift. */
  ignored: (path: string) => boolean;
  /**
   * The sha256 of each drifted path in the commit being deployed (undefined where it has no
   * such file): drift that the commit already holds was reconciled into the SSOT.
   */
  target?: ReadonlyMap<string, string | undefined>;
}

/**
 * True when the commit being deployed holds every drifted file exactly as it is live (and
 * lacks every one that is missing there): the drift was brought into the SSOT, by `npm run
 * reconcile` or by hand, and deploying replaces the live tree with the same content.
 */
export function driftReconciled(
  s: SurveyReading,
  c: Pick<SurveyContext, "ignored" | "target">,
): boolean {
  const { added, drifted } = driftOf(s, c);
  if (!drifted || c.target === undefined) return false;
  return [...s.drift!.modified, ...added].every(
    (p) => c.target!.has(p) && c.target!.get(p) === s.drift!.sha256[p],
  );
}

/** The gap and next action for a connection that failed. Exported for testing. */
export function connectionFailure(hostName: string, index: number, err: SshError): GateFailure {
  switch (err.kind) {
    case "host-key":
      return {
        gap: `server ${hostName}: ${err.message}; ${NOTHING}`,
        next: `verify the server's key out of band (ssh-keyscan on a trusted network, or the provider's console), then pulumi config set --path 'hosts[${index}].hostKey' '<type> <base64>'`,
      };
    case "auth":
      return {
        gap: `server ${hostName}: ${err.message}; ${NOTHING}`,
        next: "add the public half of sshPrivateKey to the user's authorized_keys on the server, or set the right key: pulumi config set --secret sshPrivateKey < key",
      };
    default:
      return {
        gap: `server ${hostName}: ${err.message}; ${NOTHING}`,
        next: "check the host, port and network path (and that sshd runs), then run pulumi preview again",
      };
  }
}

/** The survey's drift, less what the artifact never holds. */
export function driftOf(s: SurveyReading, c: Pick<SurveyContext, "ignored">) {
  // A running Python app writes __pycache__ beside its code: the excludes say what never ships.
  const added = (s.drift?.added ?? []).filter((p) => !c.ignored(p));
  const drifted = s.drift !== undefined && s.drift.modified.length + added.length > 0;
  return { added, drifted };
}

/**
 * How the server departs from the state the last deploy of `releaseId` left, when that release
 * is the one live: its tree drifted, or the kill-switch file was changed by hand. Each departure
 * becomes part of the deploy's inputs, so that `pulumi up` runs and restores the declared
 * state even though nothing in the stack changed. Exported for testing.
 */
export function departures(
  s: SurveyReading,
  c: Pick<SurveyContext, "ignored" | "deploy">,
  releaseId: string,
): string[] {
  if (s.layout !== "symlink" || s.live !== releaseId) return [];
  const out: string[] = [];
  if (driftOf(s, c).drifted) out.push(`the live release ${releaseId} drifted`);
  if (s.killSwitchText !== renderKillSwitch(c.deploy.killSwitch))
    out.push("the kill-switch file is not as declared");
  return out;
}

/**
 * Judges a survey before anything is created: drift, a foreign lock and a layout this tool
 * cannot own block. Returns the failure, or the PASS detail. Exported for testing.
 */
export function judgeSurvey(s: SurveyReading, c: SurveyContext): GateFailure | { detail: string } {
  const root = c.deploy.deployRoot;
  if (s.rootBlocker !== undefined) {
    const b = s.rootBlocker;
    const what =
      b.path === root ? `deployRoot ${root} is` : `${b.path}, above deployRoot ${root}, is`;
    return {
      gap: `server ${c.hostName}: ${what} a ${b.kind}, not a directory, so the layout cannot be created there; ${NOTHING}`,
      next: `move ${b.path} out of the way on ${c.hostName}, or set deployRoot to a directory path that is free: pulumi config set deployRoot /srv/app`,
    };
  }
  if (s.layout === "other") {
    return {
      gap: `server ${c.hostName}: ${root}/current exists but is neither a symlink nor a directory; ${NOTHING}`,
      next: `inspect ${root}/current on ${c.hostName}, move it out of the way, then run again`,
    };
  }
  if (s.unwritable !== undefined) {
    const user = s.loginUser ?? "the login user";
    return {
      gap: `server ${c.hostName}: ${user} cannot write to ${s.unwritable}, which the deploy under ${root} needs; ${NOTHING}`,
      next: `give ${user} write access on ${c.hostName} (chown -R ${user} ${s.unwritable}), or set deployRoot to a directory ${user} owns: pulumi config set deployRoot /srv/app`,
    };
  }
  const { added, drifted } = driftOf(s, c);
  const reconciled = driftReconciled(s, c);
  if (drifted && !c.deploy.acceptDrift && !reconciled) {
    const parts = [
      s.drift!.modified.length > 0 ? `modified or missing: ${firstTen(s.drift!.modified)}` : "",
      added.length > 0 ? `added: ${firstTen(added)}` : "",
    ].filter((p) => p !== "");
    return {
      gap: `server ${c.hostName}: the live release ${s.live} differs from its manifest (drift), ${parts.join("; ")}; ${NOTHING}`,
      next:
        `bring those changes into the SSOT repo first: npm run reconcile -- --stack ${c.stack} --from ${root}/current, review and merge, then pulumi up; ` +
        "or, to replace them after a backup: pulumi config set acceptDrift true",
    };
  }
  if (s.layout === "symlink" && s.drift === undefined && !c.deploy.acceptDrift) {
    return {
      gap: `server ${c.hostName}: the live release ${s.live} has no manifest in ${root}/.deploy/manifests, so drift cannot be checked; ${NOTHING}`,
      next: "restore the manifest, or, to replace the live tree after a backup: pulumi config set acceptDrift true",
    };
  }
  if (s.lock && s.lock.token !== c.lockToken) {
    const stale = s.lock.ageSeconds >= c.deploy.staleLockSeconds;
    if (!(stale && c.deploy.breakStaleLock)) {
      return {
        gap:
          `server ${c.hostName}: the deploy lock ${root}/.deploy/lock is held by ${s.lock.holder} on ${s.lock.host} since ${s.lock.since} ` +
          `for artifact ${s.lock.artifact}, ${s.lock.ageSeconds}s ago${stale ? ` (stale: older than ${c.deploy.staleLockSeconds}s)` : ""}; ${NOTHING}`,
        next: stale
          ? "if that deploy died, pulumi config set breakStaleLock true and run again"
          : "wait for that deploy to finish, then run again",
      };
    }
  }
  const ks = readKillSwitch(s.killSwitchText, c.deploy.killSwitch);
  const live =
    s.layout === "absent"
      ? "nothing live"
      : s.layout === "directory"
        ? "a plain directory live (it will be backed up and adopted)"
        : `live ${s.live}${s.liveCommit ? ` (commit ${short(s.liveCommit)})` : ""}`;
  const notes = [
    `server ${c.hostName} (${c.where}): ${live}`,
    !drifted
      ? "no drift"
      : reconciled
        ? "drift reconciled: the commit being deployed holds every drifted file as it is live (the live tree is archived first)"
        : "drift accepted (it will be backed up first)",
    s.lock ? `stale lock of ${s.lock.holder} will be broken` : "no lock",
    `${Math.floor(s.diskFreeBytes / 1048576)} MiB free`,
    `kill-switch ${c.deploy.killSwitch.key}=${ks === undefined ? "absent" : ks}`,
  ];
  return { detail: notes.join("; ") };
}

/** Whether the server has room for the upload, the extracted release and a backup. */
export function diskFailure(
  s: SurveyReading,
  c: SurveyContext,
  bytes: number,
  unpackedBytes: number,
): GateFailure | undefined {
  // The upload, its extraction, and a backup no larger than the upload, with 10% to spare.
  const needed = Math.ceil((2 * bytes + unpackedBytes) * 1.1);
  if (s.diskFreeBytes >= needed) return undefined;
  return {
    gap: `server ${c.hostName}: ${s.diskFreeBytes} bytes free under ${c.deploy.deployRoot}, the deploy needs ${needed}; ${NOTHING}`,
    next: `free space on ${c.hostName} (old backups in ${c.deploy.deployRoot}/backups, or lower keepReleases/keepBackups), then run again`,
  };
}

/**
 * A staged release that no longer matches its manifest: someone changed it on the server. It
 * is never switched to, and never replaced without being told to.
 */
export function tamperedTarget(
  c: SurveyContext,
  releaseId: string,
  differs: string | undefined,
): GateFailure {
  const dir = `${c.deploy.deployRoot}/releases/${releaseId}`;
  return {
    gap: `server ${c.hostName}: release ${releaseId} is staged but does not match its manifest${differs ? ` (${differs} differs)` : ""}: it was changed on the server after it was staged; ${NOTHING}`,
    next: `inspect ${dir} on ${c.hostName}, then remove it so that the next run stages a verified copy, or pulumi config set acceptDrift true to replace it`,
  };
}
