import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { BlockedError, renderGateTable } from "../gates/gateRun";
import { reconcile } from "../tools/reconcile/reconcile";
import { describeContent } from "../tools/reconcile/diff";
import { escapedName } from "../gates/artifact/manifest";
import { readStackFile, stackFilePath } from "../config/stackFile";
import { projectRoot } from "../harness/paths";

const USAGE =
  "usage: npm run reconcile -- --stack <stack> [--from <path on the server>] [--expect <sha256 manifest>] " +
  "[--host <name>] [--key <private key file>] [--config-file <Pulumi.<stack>.yaml>]";

/**
 * `npm run reconcile`: the stack's settings come from Pulumi.<stack>.yaml (or --config-file).
 * The SSH key is the file --key names (or SSOT_SSH_KEY_FILE): the stack's encrypted
 * sshPrivateKey can only be read by the Pulumi CLI (`pulumi config get sshPrivateKey`).
 */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      stack: { type: "string" },
      from: { type: "string" },
      expect: { type: "string" },
      host: { type: "string" },
      key: { type: "string" },
      "config-file": { type: "string" },
    },
  });
  if (values.stack === undefined) {
    console.error(USAGE);
    return 2;
  }
  const root = projectRoot();
  process.chdir(root);
  const raw = readStackFile(values["config-file"] ?? stackFilePath(root, values.stack));
  const keyFile = values.key ?? process.env.SSOT_SSH_KEY_FILE;
  const plainKey = raw.sshPrivateKey?.startsWith("-----BEGIN") ? raw.sshPrivateKey : undefined;
  const privateKey = keyFile !== undefined ? fs.readFileSync(keyFile, "utf8") : plainKey;
  if (raw.target === "ssh" && privateKey === undefined) {
    console.error(
      "no SSH key: pass --key <file> (or set SSOT_SSH_KEY_FILE); the stack's sshPrivateKey is encrypted, " +
        "and only the Pulumi CLI reads it: pulumi config get sshPrivateKey > key && chmod 600 key",
    );
    return 2;
  }
  const r = await reconcile({
    stack: values.stack,
    raw,
    privateKey,
    passphrase: process.env.SSOT_SSH_PASSPHRASE,
    from: values.from,
    expect: values.expect,
    host: values.host,
  });
  console.log(`gates:\n${renderGateTable(r.gates)}`);
  if (r.branch === undefined) {
    console.log(`RESULT: NOTHING_TO_RECONCILE: ${r.from} matches ${r.base}; no branch was created`);
    return 0;
  }
  console.log(`RESULT: RECONCILED into branch ${r.branch} at ${r.commit} (base ${r.base})`);
  for (const c of r.changes)
    console.log(
      `  ${c.kind.padEnd(8)} ${escapedName(c.path)}${c.kind === "deleted" ? "" : `  ${describeContent(c)}`}`,
    );
  console.log(`tests: ${r.tests}`);
  console.log(
    `next action: review it (git -C ${raw.repo} show ${r.branch}), merge it into the mainline, then pulumi preview and pulumi up`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err instanceof BlockedError ? err.message : `error: ${err.message}`);
    process.exit(1);
  },
);
