import * as fs from "node:fs";
import * as path from "node:path";
import { RawConfig } from "../config/keys";
import { readStackFile, stackFilePath } from "../config/stackFile";
import { parseStackConfig } from "../config/stack";
import { projectRoot } from "../lib/paths";
import { LOCAL_STACK, LOCAL_TEMPLATE } from "../tools/localStack";
import { OptionSpec, readOptionFile, UsageError } from "./cli";

/** The options every command that reads a stack's servers takes. */
export const STACK_OPTIONS: Record<string, OptionSpec> = {
  stack: {
    type: "string",
    value: "<stack>",
    description: "the stack, as Pulumi.<stack>.yaml in this project names it",
    required: true,
  },
  "config-file": {
    type: "string",
    value: "<file>",
    description: "read the stack's settings from this file instead of Pulumi.<stack>.yaml",
  },
  key: {
    type: "string",
    value: "<file>",
    description:
      "the SSH private key (default $SSOT_SSH_KEY_FILE); its passphrase, if any, in $SSOT_SSH_PASSPHRASE",
  },
};

/** A stack as the tools read it: its settings, and the SSH key that reaches its servers. */
export interface OpenedStack {
  stack: string;
  raw: RawConfig;
  privateKey?: string;
  passphrase?: string;
}

/**
 * Reads the stack's settings and SSH key. Stack files name paths relative to the project, as
 * Pulumi reads them, so the working directory becomes the project's. The settings are validated
 * first, as the program validates them (a ConfigError, exit 1, with the text a preview gives),
 * so no command acts on a stack a deploy would refuse. The stack's own sshPrivateKey is
 * encrypted and only the Pulumi CLI reads it: a target ssh stack needs --key.
 */
export function openStack(values: Record<string, string | boolean | undefined>): OpenedStack {
  const given = values["config-file"] as string | undefined;
  const stack =
    (values.stack as string | undefined) ??
    path.basename(given ?? "").replace(/^Pulumi\.|\.yaml$/g, "");
  const root = projectRoot();
  const file = given !== undefined ? path.resolve(given) : settingsOf(root, stack);
  if (!fs.existsSync(file))
    throw new UsageError(
      given !== undefined
        ? `--config-file ${given} does not exist; pass the stack's settings file (Pulumi.<stack>.yaml)`
        : `there is no stack ${stack} in this project (${file} does not exist); name one of: ${stacksIn(root).join(", ")}`,
    );
  process.chdir(root);
  const raw = readStackFile(file);
  parseStackConfig(raw);
  const keyFile = (values.key as string | undefined) ?? process.env.SSOT_SSH_KEY_FILE;
  const plainKey = raw.sshPrivateKey?.startsWith("-----BEGIN") ? raw.sshPrivateKey : undefined;
  const privateKey =
    keyFile !== undefined
      ? readOptionFile("key", keyFile, "pass the file that holds the SSH private key")
      : plainKey;
  if (raw.target === "ssh" && privateKey === undefined)
    throw new UsageError(
      "no SSH key: pass --key <file> (or set SSOT_SSH_KEY_FILE); the stack's sshPrivateKey is encrypted, " +
        "and only the Pulumi CLI reads it: pulumi config get sshPrivateKey > key && chmod 600 key",
    );
  return { stack, raw, privateKey, passphrase: process.env.SSOT_SSH_PASSPHRASE };
}

/**
 * A stack's settings: Pulumi.<stack>.yaml, or for the local stack, until npm run local has made
 * that file, the template it is made from (the same settings, without the machine's secrets).
 */
function settingsOf(root: string, stack: string): string {
  const file = stackFilePath(root, stack);
  return stack === LOCAL_STACK && !fs.existsSync(file) ? path.join(root, LOCAL_TEMPLATE) : file;
}

/** The stacks this project has settings for, the local stack always among them. */
function stacksIn(root: string): string[] {
  const named = fs
    .readdirSync(root)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined);
  return [...new Set([...named, LOCAL_STACK])].sort();
}
