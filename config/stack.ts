import { KeyObject } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { ed25519Key } from "../lib/keys";
import { parseSourceConfig, SOURCE_KEYS, SOURCE_SPECS, SourceConfig } from "./source";
import { KeySpec, PROJECT, RawConfig } from "./keys";
import { DEPLOY_KEYS, DEPLOY_SPECS, DeployConfig, parseDeployConfig } from "./deploy";
import { ConfigError, ConfigProblem } from "./errors";
import { nearest } from "./fields";
import { valueOf } from "../lib/output";

/** Everything the program reads from config, validated together. */
export interface StackConfig {
  source: SourceConfig;
  deploy: DeployConfig;
  /** Kept as secret Outputs: they are only ever unwrapped to open a connection. */
  ssh: { privateKey: pulumi.Output<string>; passphrase: pulumi.Output<string> };
  /** The attestation's signing key, "" when unset; a secret Output like the SSH key. */
  attestationKey: pulumi.Output<string>;
}

/** The secrets, which only the Pulumi CLI decrypts: read as Outputs, never parsed as text. */
export const SECRET_KEYS = ["sshPrivateKey", "sshPassphrase", "attestationKey"];

/** Every key of the `ssot-deploy:` namespace, as Pulumi.yaml declares them. */
export const KNOWN_KEYS = [...SOURCE_KEYS, ...DEPLOY_KEYS, ...SECRET_KEYS];

/** How each key but the secrets is validated. */
export const KEY_SPECS: Readonly<Record<string, KeySpec<unknown>>> = {
  ...SOURCE_SPECS,
  ...DEPLOY_SPECS,
};

/**
 * A key this project does not read: a typo would otherwise be ignored and its default used.
 * Names the nearest declared key when one is close. Exported for testing.
 */
export function unknownKeys(raw: RawConfig): ConfigProblem[] {
  return Object.keys(raw)
    .filter((k) => !KNOWN_KEYS.includes(k))
    .sort()
    .map((k) => {
      const near = nearest(k, KNOWN_KEYS);
      return {
        key: `${PROJECT}:${k}`,
        rule: near
          ? `one of the keys Pulumi.yaml declares (did you mean ${near}?)`
          : "one of the keys Pulumi.yaml declares (see its config section)",
        fix: near
          ? `pulumi config rm ${k}, then pulumi config set ${near} <its value>`
          : `pulumi config rm ${k}`,
      };
    });
}

/**
 * Validates both halves and reports the problems of both in one error: the program and every
 * command that reads a stack's settings call it, so the same settings get the same refusal.
 */
export function parseStackConfig(
  raw: RawConfig,
  cwd?: string,
): { source: SourceConfig; deploy: DeployConfig } {
  const problems: ConfigProblem[] = unknownKeys(raw);
  const attempt = <T>(f: () => T): T | undefined => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      problems.push(...e.problems);
      return undefined;
    }
  };
  const source = attempt(() => parseSourceConfig(raw, cwd));
  const deploy = attempt(() => parseDeployConfig(raw, cwd));
  if (!source || !deploy || problems.length > 0) throw new ConfigError(problems);
  return { source, deploy };
}

/** Reads this stack's config through Pulumi: the one place config is read. */
export function readStackConfig(): StackConfig {
  const config = new pulumi.Config(PROJECT);
  // Every key of the namespace, so that a mistyped one is refused; secrets stay Outputs.
  const raw: RawConfig = {};
  for (const [k, v] of Object.entries(pulumi.runtime.allConfig()))
    if (k.startsWith(`${PROJECT}:`) && !SECRET_KEYS.includes(k.slice(PROJECT.length + 1)))
      raw[k.slice(PROJECT.length + 1)] = v;
  return {
    ...parseStackConfig(raw),
    ssh: {
      privateKey: config.getSecret("sshPrivateKey") ?? pulumi.secret(""),
      passphrase: config.getSecret("sshPassphrase") ?? pulumi.secret(""),
    },
    attestationKey: config.getSecret("attestationKey") ?? pulumi.secret(""),
  };
}

/**
 * The signing key, checked before anything is registered, so a bad key fails the preview and
 * not an up halfway. Undefined when none is set: the attestation is then unsigned.
 */
export async function readSigningKey(key: pulumi.Output<string>): Promise<KeyObject | undefined> {
  const pem = await valueOf(key);
  if (pem.trim() === "") return undefined;
  try {
    return ed25519Key(pem, "private");
  } catch {
    throw new ConfigError([
      {
        key: `${PROJECT}:attestationKey`,
        rule: "an ed25519 private key in PEM (PKCS#8), or empty",
        fix:
          "openssl genpkey -algorithm ed25519 -out attest.pem && " +
          "pulumi config set --secret attestationKey < attest.pem (keep attest.pem offline; " +
          "openssl pkey -in attest.pem -pubout gives the key npm run verify needs)",
      },
    ]);
  }
}
