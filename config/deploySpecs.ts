import { z } from "zod";
import { BeforeSwitchCommand, HostSpec, Invariant, Probe } from "./deployTypes";
import { KeySpec } from "./keys";

/** A probe's timeout when it sets none: long enough for a health check behind a slow start. */
export const PROBE_TIMEOUT_SECONDS = 120;
import { PATH_RULE, safePath } from "./pathRule";

/** How to set a trusted key at `at`, starting from the command that prints the stack's own. */
export const TRUSTED_KEY_FIX = (at: string) =>
  "print the stack's own public key with pulumi config get attestationKey | openssl pkey -pubout -outform DER | base64 -w0 " +
  `(or take a key's ssh-ed25519 line), then pulumi config set --path '${at}' <that line>`;

// No default for target or deployRoot: a deploy goes only where the operator named.
export const DEPLOY_DEFAULTS = {
  hosts: [] as HostSpec[],
  rollout: "all-or-none",
  batchSize: 1,
  sharedFiles: [".env"],
  keepReleases: 5,
  keepBackups: 5,
  killSwitch: { file: "kill-switch.json", key: "execution_enabled", format: "json", value: false },
  allowLiveExecution: false,
  proof: [] as Probe[],
  invariants: [] as Invariant[],
  beforeSwitch: [] as BeforeSwitchCommand[],
  restartCommand: "",
  onLiveFailure: "revert",
  breakStaleLock: false,
  staleLockSeconds: 3600,
  acceptDrift: false,
  trustedKeys: [] as string[],
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
export const DEPLOY_SPECS: Readonly<Record<string, KeySpec<unknown>>> = {
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
          // Each one is checked as a key by parseDeployConfig, which names it by its index.
          trustedKeys: z.array(z.string()).optional(),
        }),
      )
      .refine((hs) => new Set(hs.map((h) => h.name)).size === hs.length),
    rule: 'a list of {name, host, port, user, hostKey, trustedKeys (optional)} with unique names, hostKey as "ssh-ed25519 AAAA…" (ssh-keyscan prints it)',
    fix: "pulumi config set --path 'hosts[0].name' web1 (and host, port, user, hostKey the same way)",
    json: true,
  },
  rollout: {
    schema: z.enum(["all-or-none", "rolling"]),
    // The names of the first releases are refused, not mapped: the semantics changed.
    rule: '"all-or-none" or "rolling" (what was "serial" is rolling with batchSize 1; "parallel" switched each host on its own, which no policy does now)',
    fix: "pulumi config set rollout all-or-none",
  },
  batchSize: {
    schema: int(1, 1000),
    rule: "an integer of at least 1: how many hosts a rolling rollout switches together",
    fix: "pulumi config set batchSize 3",
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
        timeoutSeconds: int(1, 86400).default(PROBE_TIMEOUT_SECONDS),
      }),
    ),
    rule: `a list of {name, command, expectExit (default 0), expectOutput (optional ERE), when ("staged", the default, or "live"), timeoutSeconds (1 to 86400, default ${PROBE_TIMEOUT_SECONDS})}`,
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
    schema: z.array(
      z.strictObject({
        name: safeName,
        command: z.string().min(1),
        timeoutSeconds: int(1, 86400).default(PROBE_TIMEOUT_SECONDS),
      }),
    ),
    rule: `a list of {name, command, timeoutSeconds (1 to 86400, default ${PROBE_TIMEOUT_SECONDS}, bounding its run after the switch)} of read-only commands`,
    fix: "pulumi config set --path 'invariants[0].name' rows",
    json: true,
  },
  restartCommand: {
    schema: z.string(),
    rule: "a shell command, or empty for no restart",
    fix: "pulumi config set restartCommand ''",
  },
  onLiveFailure: {
    schema: z.enum(["revert", "keep"]),
    rule: '"revert" (the default: a live probe or invariant that fails after the switch moves current back to the verified release live before) or "keep" (current stays on the new release)',
    fix: "pulumi config set onLiveFailure revert",
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
  trustedKeys: {
    schema: z.array(z.string()),
    rule: "a list of ed25519 public keys, each one line: the base64 of its SPKI DER, or an ssh-ed25519 line",
    fix: TRUSTED_KEY_FIX("trustedKeys[0]"),
    json: true,
  },
};
