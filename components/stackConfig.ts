import { KeyObject } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { ed25519Key } from "./dsse";
import { parseSourceConfig, PROJECT, RawConfig, SOURCE_KEYS, SourceConfig } from "./config";
import { DEPLOY_KEYS, DeployConfig, parseDeployConfig } from "./deployConfig";
import { ConfigError, ConfigProblem } from "./errors";

/** Everything the program reads from config, validated together. */
export interface StackConfig {
  source: SourceConfig;
  deploy: DeployConfig;
  /** Kept as secret Outputs: they are only ever unwrapped to open a connection. */
  ssh: { privateKey: pulumi.Output<string>; passphrase: pulumi.Output<string> };
  /** The attestation's signing key, "" when unset; a secret Output like the SSH key. */
  attestationKey: pulumi.Output<string>;
}

/** Validates both halves and reports the problems of both in one error. Exported for testing. */
export function parseStackConfig(
  raw: RawConfig,
  cwd?: string,
): { source: SourceConfig; deploy: DeployConfig } {
  const problems: ConfigProblem[] = [];
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
  if (!source || !deploy) throw new ConfigError(problems);
  return { source, deploy };
}

/** Reads this stack's config through Pulumi: the one place config is read. */
export function readStackConfig(): StackConfig {
  const config = new pulumi.Config(PROJECT);
  const raw: RawConfig = {};
  for (const key of [...SOURCE_KEYS, ...DEPLOY_KEYS]) raw[key] = config.get(key);
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
  const pem = await new Promise<string>((resolve) => key.apply(resolve));
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
