import * as pulumi from "@pulumi/pulumi";
import { parseSourceConfig, PROJECT, RawConfig, SOURCE_KEYS, SourceConfig } from "./config";
import { DEPLOY_KEYS, DeployConfig, parseDeployConfig } from "./deployConfig";
import { ConfigError, ConfigProblem } from "./errors";

/** Everything the program reads from config, validated together. */
export interface StackConfig {
  source: SourceConfig;
  deploy: DeployConfig;
  /** Kept as secret Outputs: they are only ever unwrapped to open a connection. */
  ssh: { privateKey: pulumi.Output<string>; passphrase: pulumi.Output<string> };
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
  };
}
