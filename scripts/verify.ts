import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { readStackFile, stackFilePath } from "../config/stackFile";
import { renderChecks, verifyAttestation } from "../tools/verify/run";
import { projectRoot } from "../harness/paths";

const USAGE =
  "usage: npm run verify -- --attestation <file> [--public-key <ed25519 public key PEM>] [--require-signature] [--artifact <.tar.gz>] " +
  "[--stack <stack> [--host <name>] [--key <private key file>] [--config-file <Pulumi.<stack>.yaml>]]";

/**
 * `npm run verify`: checks a saved attestation (pulumi stack output attestation --json > FILE).
 * Without a signature checked against --public-key it proves consistency, not origin, and says
 * so; --require-signature makes that a rejection.
 * With --stack it also reads each server named in the deploy statement, read-only; the SSH key
 * comes from --key (or SSOT_SSH_KEY_FILE), as for npm run reconcile. Exits 1 when rejected.
 */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      attestation: { type: "string" },
      "public-key": { type: "string" },
      artifact: { type: "string" },
      stack: { type: "string" },
      host: { type: "string" },
      key: { type: "string" },
      "config-file": { type: "string" },
      "require-signature": { type: "boolean" },
    },
  });
  if (values.attestation === undefined) {
    console.error(USAGE);
    return 2;
  }
  const read = (f: string | undefined) =>
    f === undefined ? undefined : fs.readFileSync(f, "utf8");
  const attestation = fs.readFileSync(values.attestation, "utf8");
  const publicKey = read(values["public-key"]);
  const privateKey = read(values.key ?? process.env.SSOT_SSH_KEY_FILE);
  const artifact = values.artifact === undefined ? undefined : path.resolve(values.artifact);
  const configFile =
    values["config-file"] === undefined ? undefined : path.resolve(values["config-file"]);
  // Stack files name paths relative to the project, as Pulumi reads them.
  const root = projectRoot();
  process.chdir(root);
  const stackFile =
    configFile ?? (values.stack === undefined ? undefined : stackFilePath(root, values.stack));
  const checks = await verifyAttestation({
    attestation,
    publicKey,
    artifact,
    servers:
      stackFile === undefined
        ? undefined
        : {
            raw: readStackFile(stackFile),
            privateKey,
            passphrase: process.env.SSOT_SSH_PASSPHRASE,
            host: values.host,
          },
  });
  const { text, ok } = renderChecks(checks, { requireSignature: values["require-signature"] });
  console.log(text);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`error: ${err.message}`);
    process.exit(2);
  },
);
