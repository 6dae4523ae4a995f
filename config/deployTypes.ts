// The validated shapes of the deploy keys, which config/deploySpecs.ts checks.

/** The kill-switch file under shared/, as config declares it. */
export interface KillSwitchSpec {
  /** Path under shared/, e.g. "kill-switch.json". */
  file: string;
  /** The key that gates live execution, e.g. "execution_enabled". */
  key: string;
  format: "json" | "env";
  /** The declared value; true turns live execution on. */
  value: boolean;
}

/** A check run inside the release: before the switch in the staged copy, or in current after. */
export interface Probe {
  name: string;
  command: string;
  /** Exit status the command must end with; default 0. */
  expectExit: number;
  /** Extended regular expression (grep -E) the output must match, when set. */
  expectOutput?: string;
  /**
   * "staged" (the default): run in the staged release before the switch, so its failure leaves
   * current where it was. "live": run in current after the switch and the restart, for checks
   * that need the running service.
   */
  when: "staged" | "live";
  /** Seconds before it is killed with its whole process group and counted as failed; default 120. */
  timeoutSeconds: number;
}

/** A command run inside the staged release, under the lock, before the switch. */
export interface BeforeSwitchCommand {
  name: string;
  /** Run with `sh -c` in the staged release; never a secret: it sits in the stack's state. */
  command: string;
  /** Seconds before it is killed and the deploy refused; default 600. */
  timeoutSeconds: number;
}

/** A read-only command whose output must be the same after the deploy as before it. */
export interface Invariant {
  name: string;
  command: string;
  /** Seconds it may run after the switch before it is killed and counts as failed; default 120. */
  timeoutSeconds: number;
}

/** One server to deploy to. */
export interface HostSpec {
  name: string;
  host: string;
  port: number;
  user: string;
  /** The server's public host key, "ssh-ed25519 AAAA…": pinned, never learned. */
  hostKey: string;
  /**
   * The ed25519 public keys (base64 SPKI DER) whose signed provenance this server requires of
   * a release before the switch; unset, the stack's `trustedKeys`.
   */
  trustedKeys?: string[];
}

/** Validated settings for gates G5–G7 (everything but the SSH key, which stays a secret). */
export interface DeployConfig {
  target: "ssh" | "local";
  hosts: HostSpec[];
  /**
   * How the hosts switch: "all-or-none" prepares every host (lock, backup, stage, probes) and
   * switches none unless all are prepared; "rolling" does that for batches of `batchSize`, one
   * batch after another, and stops at the first batch that fails.
   */
  rollout: "all-or-none" | "rolling";
  /** Hosts per batch of a rolling rollout. */
  batchSize: number;
  /** Absolute path of the layout on each server, or on this machine for target local. */
  deployRoot: string;
  sharedFiles: string[];
  keepReleases: number;
  keepBackups: number;
  killSwitch: KillSwitchSpec;
  proof: Probe[];
  invariants: Invariant[];
  beforeSwitch: BeforeSwitchCommand[];
  restartCommand?: string;
  /**
   * What a live probe or an invariant that fails after the switch leads to: "revert" (the
   * default) moves current back to the release live before, verified first; "keep" leaves it.
   */
  onLiveFailure: "revert" | "keep";
  breakStaleLock: boolean;
  staleLockSeconds: number;
  acceptDrift: boolean;
  /** The stack's trusted keys (base64 SPKI DER): target local's, and each host's by default. */
  trustedKeys: string[];
}
