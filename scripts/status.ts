import { readStatus, renderStatus } from "../tools/status";
import { fleetView } from "../tools/fleet";
import { createPublicKey } from "node:crypto";
import { CommandSpec, EXIT, readOptionFile, runCommand, UsageError } from "./cli";
import { openStack, STACK_OPTIONS } from "./stack";

const SPEC: CommandSpec = {
  name: "status",
  summary:
    "What each server of the stack holds, read-only, one connection per host, with no build and " +
    "no test: the live release (commit, when and by whom, from the hash-chained revisions log), " +
    "the releases a rollback can use, the lock and its holder, the kill-switch, and drift; with " +
    "several hosts, a closing line groups them by live release and says whether the fleet is mixed.",
  options: {
    ...STACK_OPTIONS,
    host: { type: "string", value: "<name>", description: "only this host" },
    json: { type: "boolean", description: "print JSON, for scripts" },
    "public-key": {
      type: "string",
      value: "<file.pub>",
      description:
        "the stack's attestation public key (PEM): each release's kept evidence is checked with it, as a rollback checks it; without it no release is offered for a rollback by release",
    },
  },
};

runCommand(SPEC, async (values) => {
  const s = openStack(values);
  const keyFile = values["public-key"] as string | undefined;
  const pem =
    keyFile === undefined
      ? undefined
      : readOptionFile("public-key", keyFile, "pass the stack's attestation public key (PEM)");
  let publicKey;
  try {
    publicKey = pem === undefined ? undefined : createPublicKey(pem);
  } catch {
    throw new UsageError(
      `--public-key ${keyFile} is not a PEM public key; pass the stack's attestation public key`,
    );
  }
  const hosts = await readStatus({
    raw: s.raw,
    stack: s.stack,
    publicKey,
    privateKey: s.privateKey,
    passphrase: s.passphrase,
    host: values.host as string | undefined,
  });
  console.log(
    values.json ? JSON.stringify({ hosts, fleet: fleetView(hosts) }, null, 2) : renderStatus(hosts),
  );
  // A host that could not be read, or a log whose chain broke, is a check that failed.
  const failed = hosts.some((h) => h.gap !== undefined || h.log?.broken !== undefined);
  return failed ? EXIT.refused : EXIT.ok;
});
