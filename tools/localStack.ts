import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { readStackFile, stackFilePath } from "../config/stackFile";
import { findEngine, LOCAL_BACKEND_DIR, LOCAL_PASSPHRASE_FILE, withLocalBackend } from "./engine";
import { PulumiStack } from "./pulumiStack";
import { ensureSampleRepo, SAMPLE_REPO } from "./sampleRepo";

/** The embedded default stack. */
export const LOCAL_STACK = "local";
/** The local stack's settings as the project ships them; Pulumi.local.yaml is made from it. */
export const LOCAL_TEMPLATE = "examples/local-stack.yaml";
/** The local stack's signing key: made once, kept, shown by path. */
export const LOCAL_SIGNING_KEY = ".ssot-deploy/attestation-key.pem";

/** A secret made once on this machine and kept in a mode-600 file; returns its path. */
function madeOnce(file: string, make: () => void): string {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    make();
  }
  return file;
}

/**
 * The local stack's signing key: an ed25519 key generated on the first run (private key mode
 * 600, the public key beside it as .pub), so the main job signs and verifies its attestation.
 */
export function localSigningKey(root: string): { pem: string; file: string; publicFile: string } {
  const file = path.join(root, LOCAL_SIGNING_KEY);
  const publicFile = file.replace(/\.pem$/, ".pub");
  madeOnce(file, () => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519");
    fs.writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    fs.writeFileSync(publicFile, publicKey.export({ type: "spki", format: "pem" }));
  });
  return { pem: fs.readFileSync(file, "utf8"), file, publicFile };
}

/** The passphrase of the local file backend's secrets: random, made once, mode 600. */
export function localPassphraseFile(root: string): string {
  const file = path.join(root, LOCAL_PASSPHRASE_FILE);
  return madeOnce(file, () =>
    fs.writeFileSync(file, `${crypto.randomBytes(32).toString("base64url")}\n`, { mode: 0o600 }),
  );
}

/** Whether a stack settings file sets `key` (of this project). */
function sets(file: string, key: string): boolean {
  const doc = yaml.load(fs.readFileSync(file, "utf8")) as {
    config?: Record<string, unknown>;
  } | null;
  return doc?.config?.[`ssot-deploy:${key}`] !== undefined;
}

/** What the local stack runs on: its stack, its settings file, its key and its backend. */
export interface LocalStack {
  stack: PulumiStack;
  settings: string;
  /** Whether this run made Pulumi.local.yaml from the template. */
  madeSettings: boolean;
  key: ReturnType<typeof localSigningKey>;
  backend: string;
  passphraseFile: string;
}

/**
 * Readies the local stack on the project's file backend (.ssot-deploy/state): the passphrase
 * and the signing key made once, Pulumi.local.yaml made from the template when missing (or
 * `configFile` used instead), the sample repository made where the settings name it, the
 * stack created, the signing key set as a secret when the settings lack it, and `release` set
 * when given and removed when not, so that a run without it deploys the repository's HEAD.
 */
export async function prepareLocalStack(
  root: string,
  opts: { configFile?: string; release?: string } = {},
): Promise<LocalStack> {
  const passphraseFile = localPassphraseFile(root);
  const key = localSigningKey(root);
  fs.mkdirSync(path.join(root, LOCAL_BACKEND_DIR), { recursive: true });
  const engine = withLocalBackend(findEngine(root), root);
  const settings = opts.configFile ?? stackFilePath(root, LOCAL_STACK);
  const madeSettings = opts.configFile === undefined && !fs.existsSync(settings);
  if (madeSettings) fs.copyFileSync(path.join(root, LOCAL_TEMPLATE), settings);
  if (readStackFile(settings).repo === SAMPLE_REPO)
    ensureSampleRepo(path.resolve(root, SAMPLE_REPO));
  const stack = new PulumiStack(engine, LOCAL_STACK, { cwd: root, configFile: opts.configFile });
  await stack.select();
  if (!sets(settings, "attestationKey"))
    await stack.set("attestationKey", key.pem, { secret: true });
  if (opts.release !== undefined) await stack.set("release", opts.release);
  else if (sets(settings, "release")) await stack.unset("release");
  return { stack, settings, madeSettings, key, backend: engine.backend, passphraseFile };
}
