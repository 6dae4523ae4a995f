import * as path from "node:path";
import { ConfigError } from "./errors";
import {
  DEPLOY_DEFAULTS,
  DEPLOY_SPECS,
  PROBE_TIMEOUT_SECONDS,
  TRUSTED_KEY_FIX,
} from "./deploySpecs";
import { DeployConfig, HostSpec, KillSwitchSpec } from "./deployTypes";
import { trustedPublicKey } from "../lib/keys";
import { parseKeys, PROJECT, RawConfig } from "./keys";

export * from "./deployTypes";
export { DEPLOY_DEFAULTS, DEPLOY_SPECS, PROBE_TIMEOUT_SECONDS };

/** Parses and validates the deploy keys, reporting every problem at once. Exported for testing. */
export function parseDeployConfig(raw: RawConfig, cwd: string = process.cwd()): DeployConfig {
  const { values, problems } = parseKeys(raw, DEPLOY_SPECS);
  const c = { ...DEPLOY_DEFAULTS, ...values } as typeof DEPLOY_DEFAULTS & {
    target?: "ssh" | "local";
    deployRoot?: string;
    rollout: "all-or-none" | "rolling";
    onLiveFailure: "revert" | "keep";
  };
  // A key that is itself invalid was replaced by its default above: checks that combine keys
  // would then report that default, not what was set.
  const bad = (k: string) => problems.some((p) => p.key === `${PROJECT}:${k}`);
  const problem = (key: string, rule: string, fix: string, got?: string) =>
    problems.push({ key: `${PROJECT}:${key}`, rule, fix, ...(got === undefined ? {} : { got }) });
  if (c.target === undefined && !bad("target"))
    problem(
      "target",
      'set to "ssh" (the servers in hosts) or "local" (a directory on this machine): nothing deploys where the stack does not say',
      "pulumi config set target ssh, with hosts and deployRoot; or pulumi config set target local",
    );
  if (c.deployRoot === undefined && !bad("deployRoot"))
    problem(
      "deployRoot",
      "set to the directory the releases go under",
      DEPLOY_SPECS.deployRoot.fix,
    );
  const ks = c.killSwitch as KillSwitchSpec;
  if (ks.value && !c.allowLiveExecution)
    problem(
      "allowLiveExecution",
      "true to deploy with killSwitch.value true, which turns live execution on",
      "keep the kill-switch off (pulumi config set --path killSwitch.value false), or confirm the risk: pulumi config set allowLiveExecution true",
      "false",
    );
  const rootSet = c.deployRoot !== undefined && !bad("deployRoot");
  if (c.target === "ssh" && rootSet && !c.deployRoot!.startsWith("/"))
    problem(
      "deployRoot",
      "an absolute path for target ssh",
      DEPLOY_SPECS.deployRoot.fix,
      JSON.stringify(c.deployRoot),
    );
  if (c.target === "ssh" && !bad("hosts") && c.hosts.length === 0)
    problem("hosts", "at least one host for target ssh", DEPLOY_SPECS.hosts.fix);
  // A batch size with any other policy would be silently ignored: the operator meant something.
  if (c.batchSize !== DEPLOY_DEFAULTS.batchSize && c.rollout !== "rolling" && !bad("rollout"))
    problem(
      "batchSize",
      "set only with rollout rolling: all-or-none switches every host together",
      "pulumi config set rollout rolling, or pulumi config rm batchSize",
      String(c.batchSize),
    );
  const root = rootSet ? path.resolve(cwd, c.deployRoot!) : "";
  if (rootSet && path.dirname(root) === "/")
    problem(
      "deployRoot",
      "a directory at least two levels below /",
      DEPLOY_SPECS.deployRoot.fix,
      JSON.stringify(c.deployRoot),
    );
  // Each trusted key is read as a key here, so that a bad one is refused by its own path; the
  // server then reads every key in the one form it takes, base64 SPKI DER.
  const keys = (list: readonly string[], at: string): string[] =>
    list.map((text, j) => {
      const read = trustedPublicKey(text.trim());
      if ("spki" in read) return read.spki;
      problem(
        at.replace(/\[.*/, ""),
        "an ed25519 public key on one line: the base64 of its SPKI DER, or an ssh-ed25519 line",
        TRUSTED_KEY_FIX(`${at}[${j}]`),
        `${at}[${j}] = ${JSON.stringify(text)}: ${read.reason}`,
      );
      return "";
    });
  const trustedKeys = keys(c.trustedKeys, "trustedKeys");
  const hosts: HostSpec[] = c.hosts.map((h, i) =>
    h.trustedKeys === undefined
      ? h
      : { ...h, trustedKeys: keys(h.trustedKeys, `hosts[${i}].trustedKeys`) },
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    target: c.target!,
    hosts,
    rollout: c.rollout,
    batchSize: c.batchSize,
    deployRoot: c.target === "ssh" ? c.deployRoot! : root,
    sharedFiles: c.sharedFiles,
    keepReleases: c.keepReleases,
    keepBackups: c.keepBackups,
    killSwitch: ks,
    proof: c.proof,
    invariants: c.invariants,
    beforeSwitch: c.beforeSwitch,
    restartCommand: c.restartCommand === "" ? undefined : c.restartCommand,
    onLiveFailure: c.onLiveFailure,
    breakStaleLock: c.breakStaleLock,
    staleLockSeconds: c.staleLockSeconds,
    acceptDrift: c.acceptDrift,
    trustedKeys,
  };
}

/**
 * The keys a host's server requires a release's provenance to be signed by, and where config
 * sets them (for the refusals' fixes): the host's own list, else the stack's. Target local's
 * host has no spec: the stack's list.
 */
export function trustedKeysFor(
  deploy: Pick<DeployConfig, "hosts" | "trustedKeys">,
  spec: HostSpec | undefined,
): { keys: string[]; configPath: string } {
  const i = deploy.hosts.findIndex((h) => h.name === spec?.name);
  if (spec?.trustedKeys !== undefined)
    return { keys: spec.trustedKeys, configPath: `hosts[${i}].trustedKeys` };
  return { keys: deploy.trustedKeys, configPath: "trustedKeys" };
}

/** The keys this module reads, for the one place that reads config. */
export const DEPLOY_KEYS = Object.keys(DEPLOY_SPECS);
