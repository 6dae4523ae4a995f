import * as path from "node:path";
import { renderChecks, verifyAttestation } from "../tools/verify/run";
import { CommandSpec, EXIT, OptionSpec, readOptionFile, runCommand } from "./cli";
import { openStack, STACK_OPTIONS } from "./stack";

const SPEC: CommandSpec = {
  name: "verify",
  summary:
    "Checks a saved attestation (pulumi stack output attestation --json > FILE): each statement's " +
    "digest and subject, its signatures, the artifact, and with --stack each server, read-only. " +
    "Without a signature checked against --public-key it proves consistency, not origin, and says so.",
  options: {
    attestation: {
      type: "string",
      value: "<file>",
      description: "the saved attestation",
      required: true,
    },
    "public-key": {
      type: "string",
      value: "<file>",
      description: "the signer's ed25519 public key (PEM): checks the signatures",
    },
    "require-signature": {
      type: "boolean",
      description: "reject an attestation whose origin is not proven by a signature",
    },
    artifact: {
      type: "string",
      value: "<file>",
      description: "the .tar.gz to check against the subject",
    },
    ...Object.fromEntries(
      Object.entries(STACK_OPTIONS).map(([k, o]): [string, OptionSpec] => [
        k,
        k === "stack"
          ? { ...o, required: false, description: "also read each server of this stack, read-only" }
          : o,
      ]),
    ),
    host: { type: "string", value: "<name>", description: "with --stack, only this host" },
  },
};

runCommand(SPEC, async (values) => {
  const file = (o: string, instead: string) =>
    values[o] === undefined ? undefined : readOptionFile(o, values[o] as string, instead);
  const attestation = file(
    "attestation",
    "save one first: pulumi stack output attestation --json > attestation.json",
  )!;
  const publicKey = file(
    "public-key",
    "pass the PEM public key: openssl pkey -in attest.pem -pubout",
  );
  const artifact =
    values.artifact === undefined ? undefined : path.resolve(values.artifact as string);
  if (artifact !== undefined)
    readOptionFile("artifact", artifact, "pass the .tar.gz from <workDir>/artifacts/");
  // --config-file alone names the servers too, with no stack name to hold the attestation to.
  const stack =
    values.stack === undefined && values["config-file"] === undefined
      ? undefined
      : openStack(values);
  const checks = await verifyAttestation({
    attestation,
    publicKey,
    artifact,
    servers:
      stack === undefined
        ? undefined
        : {
            stack: values.stack as string | undefined,
            raw: stack.raw,
            privateKey: stack.privateKey,
            passphrase: stack.passphrase,
            host: values.host as string | undefined,
          },
  });
  const { text, ok } = renderChecks(checks, {
    requireSignature: values["require-signature"] === true,
  });
  console.log(text);
  return ok ? EXIT.ok : EXIT.refused;
});
