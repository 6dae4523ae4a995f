import * as path from "node:path";
import { z } from "zod";
import { KeySpec, parseKeys, PROJECT, RawConfig } from "./keys";
import { ConfigError } from "./errors";
import { PATH_RULE, safePath } from "./pathRule";

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
}

/** One server to deploy to. */
export interface HostSpec {
  name: string;
  host: string;
  port: number;
  user: string;
  /** The server's public host key, "ssh-ed25519 AAAA…": pinned, never learned. */
  hostKey: string;
}

/** Validated settings for gates G5–G7 (everything but the SSH key, which stays a secret). */
export interface DeployConfig {
  target: "ssh" | "local";
  hosts: HostSpec[];
  rollout: "serial" | "parallel";
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
  breakStaleLock: boolean;
  staleLockSeconds: number;
  acceptDrift: boolean;
}

// No default for target or deployRoot: a deploy goes only where the operator named.
export const DEPLOY_DEFAULTS = {
  hosts: [] as HostSpec[],
  rollout: "serial",
  sharedFiles: [".env"],
  keepReleases: 5,
  keepBackups: 5,
  killSwitch: { file: "kill-switch.json", key: "execution_enabled", format: "json", value: false },
  allowLiveExecution: false,
  proof: [] as Probe[],
  invariants: [] as Invariant[],
  beforeSwitch: [] as BeforeSwitchCommand[],
  restartCommand: "",
  breakStaleLock: false,
  staleLockSeconds: 3600,
  acceptDrift: false,
};

// A name that becomes a path segment: the path rule, and a charset that needs no quoting.
const safeName = safePath("segment").pipe(
  z
    .string()
    .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/)
    .refine((s) => !s.includes("..")),
);
// A path under the release or shared/.
const relPath = safePath("relative");
const bool = z.union([z.boolean(), z.enum(["true", "false"]).transform((s) => s === "true")]);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

// Every object is strict: a field it does not declare is refused by name, never dropped.
const SPECS: Record<string, KeySpec<unknown>> = {
  target: {
    schema: z.enum(["ssh", "local"]),
    rule: '"ssh" or "local"',
    fix: "pulumi config set target ssh",
  },
  hosts: {
    schema: z
      .array(
        z.strictObject({
          name: safeName,
          host: z
            .string()
            .min(1)
            .regex(/^[^\s/]+$/),
          port: int(1, 65535).default(22),
          user: z.string().regex(/^[a-z_][a-z0-9_.-]*$/i),
          hostKey: z
            .string()
            .regex(/^(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa) [A-Za-z0-9+/=]+( .*)?$/),
        }),
      )
      .refine((hs) => new Set(hs.map((h) => h.name)).size === hs.length),
    rule: 'a list of {name, host, port, user, hostKey} with unique names, hostKey as "ssh-ed25519 AAAA…" (ssh-keyscan prints it)',
    fix: "pulumi config set --path 'hosts[0].name' web1 (and host, port, user, hostKey the same way)",
    json: true,
  },
  rollout: {
    schema: z.enum(["serial", "parallel"]),
    rule: '"serial" or "parallel"',
    fix: "pulumi config set rollout serial",
  },
  deployRoot: {
    schema: safePath("directory"),
    rule: `a directory path with ${PATH_RULE} (absolute for target ssh)`,
    fix: "pulumi config set deployRoot /srv/app",
  },
  sharedFiles: {
    schema: z.array(relPath),
    rule: `a list of relative paths with ${PATH_RULE}`,
    fix: "pulumi config set --path 'sharedFiles[0]' .env",
    json: true,
  },
  keepReleases: {
    schema: int(2, 1000),
    rule: "an integer of at least 2 (the live release and the one before it)",
    fix: "pulumi config set keepReleases 5",
  },
  keepBackups: {
    schema: int(1, 1000),
    rule: "an integer of at least 1",
    fix: "pulumi config set keepBackups 5",
  },
  killSwitch: {
    schema: z.strictObject({
      file: relPath,
      key: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*$/),
      format: z.enum(["json", "env"]),
      value: z.boolean(),
    }),
    rule: `an object {file, key, format: "json"|"env", value: boolean}, file a relative path with ${PATH_RULE}`,
    fix: "pulumi config set --path killSwitch.value false",
    json: true,
  },
  allowLiveExecution: {
    schema: bool,
    rule: "true or false",
    fix: "pulumi config set allowLiveExecution false",
  },
  proof: {
    schema: z.array(
      z.strictObject({
        name: safeName,
        command: z.string().min(1),
        expectExit: int(0, 255).default(0),
        expectOutput: z.string().optional(),
        when: z.enum(["staged", "live"]).default("staged"),
      }),
    ),
    rule: 'a list of {name, command, expectExit (default 0), expectOutput (optional ERE), when ("staged", the default, or "live")}',
    fix: "pulumi config set --path 'proof[0].name' imports && pulumi config set --path 'proof[0].command' 'python3 -c \"import app\"'",
    json: true,
  },
  beforeSwitch: {
    schema: z.array(
      z.strictObject({
        name: safeName,
        command: z.string().min(1),
        timeoutSeconds: int(1, 86400).default(600),
      }),
    ),
    rule: "a list of {name, command, timeoutSeconds (default 600)}, run in the staged release before the switch",
    fix: "pulumi config set --path 'beforeSwitch[0].name' venv && pulumi config set --path 'beforeSwitch[0].command' 'python3 -m venv .venv && .venv/bin/pip install -r requirements.txt'",
    json: true,
  },
  invariants: {
    schema: z.array(z.strictObject({ name: safeName, command: z.string().min(1) })),
    rule: "a list of {name, command} of read-only commands",
    fix: "pulumi config set --path 'invariants[0].name' rows",
    json: true,
  },
  restartCommand: {
    schema: z.string(),
    rule: "a shell command, or empty for no restart",
    fix: "pulumi config set restartCommand ''",
  },
  breakStaleLock: {
    schema: bool,
    rule: "true or false",
    fix: "pulumi config set breakStaleLock false",
  },
  staleLockSeconds: {
    schema: int(60, 7 * 86400),
    rule: "seconds from 60 to 604800",
    fix: "pulumi config set staleLockSeconds 3600",
  },
  acceptDrift: { schema: bool, rule: "true or false", fix: "pulumi config set acceptDrift false" },
};

/** Parses and validates the deploy keys, reporting every problem at once. Exported for testing. */
export function parseDeployConfig(raw: RawConfig, cwd: string = process.cwd()): DeployConfig {
  const { values, problems } = parseKeys(raw, SPECS);
  const c = { ...DEPLOY_DEFAULTS, ...values } as typeof DEPLOY_DEFAULTS & {
    target?: "ssh" | "local";
    deployRoot?: string;
    rollout: "serial" | "parallel";
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
    problem("deployRoot", "set to the directory the releases go under", SPECS.deployRoot.fix);
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
      SPECS.deployRoot.fix,
      JSON.stringify(c.deployRoot),
    );
  if (c.target === "ssh" && !bad("hosts") && c.hosts.length === 0)
    problem("hosts", "at least one host for target ssh", SPECS.hosts.fix);
  const root = rootSet ? path.resolve(cwd, c.deployRoot!) : "";
  if (rootSet && path.dirname(root) === "/")
    problem(
      "deployRoot",
      "a directory at least two levels below /",
      SPECS.deployRoot.fix,
      JSON.stringify(c.deployRoot),
    );
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    target: c.target!,
    hosts: c.hosts,
    rollout: c.rollout,
    deployRoot: c.target === "ssh" ? c.deployRoot! : root,
    sharedFiles: c.sharedFiles,
    keepReleases: c.keepReleases,
    keepBackups: c.keepBackups,
    killSwitch: ks,
    proof: c.proof,
    invariants: c.invariants,
    beforeSwitch: c.beforeSwitch,
    restartCommand: c.restartCommand === "" ? undefined : c.restartCommand,
    breakStaleLock: c.breakStaleLock,
    staleLockSeconds: c.staleLockSeconds,
    acceptDrift: c.acceptDrift,
  };
}

/** The keys this module reads, for the one place that reads config. */
export const DEPLOY_KEYS = Object.keys(SPECS);

/** How each of those keys is validated. */
export const DEPLOY_SPECS: Readonly<Record<string, KeySpec<unknown>>> = SPECS;
