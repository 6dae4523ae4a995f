import * as fs from "node:fs";
import * as path from "node:path";
import { renderChecks, verifyAttestation } from "../tools/verify/run";
import { describeBackup } from "../evidence/gateLines";
import { projectRoot } from "../lib/paths";
import { readStackFile } from "../config/stackFile";
import { prepareLocalStack } from "../tools/localStack";
import { StackOutputs } from "../tools/outputs";
import { CommandSpec, EXIT, readOptionFile, runCommand } from "./cli";

const SPEC: CommandSpec = {
  name: "local",
  summary:
    "The main job: pulumi preview, then pulumi up, of the local stack on the project's file backend " +
    "(.ssot-deploy/state), deploying examples/sample-app to .ssot-deploy/local-server; its attestation " +
    "is signed with .ssot-deploy/attestation-key.pem and verified.",
  options: {
    "config-file": {
      type: "string",
      value: "<file>",
      description:
        "the stack's settings (default: Pulumi.local.yaml, made from examples/local-stack.yaml)",
    },
    release: {
      type: "string",
      value: "<id>",
      description:
        "roll back to a release kept on the local server (npm run status -- --stack local lists them), " +
        "as pulumi config set release <id> would: no build, no upload, no test run",
    },
  },
};

/** The summary of an up, from its stack outputs. */
function summary(out: StackOutputs): string[] {
  const a = out.artifact;
  const tests = a.kept
    ? " (not run: the signed result of its first deploy)"
    : out.tests.cached
      ? " (cached)"
      : "";
  const lines = [
    `artifact: ${a.path}`,
    `  commit ${a.commit}, ${a.files} files, sha256 ${a.sha256}`,
    `tests: ${out.tests.passed}/${out.tests.total} passed${tests}`,
  ];
  for (const [host, d] of Object.entries(out.deploy))
    lines.push(
      `deploy ${host}: ${d.promoted} ${d.previous || "nothing"} -> ${d.releaseId}; ${describeBackup(d.backup)}`,
      `  kill-switch declared ${d.killSwitch.declared}, read back ${d.killSwitch.readBack}; restarted ${d.restarted}`,
      `  proof ${d.proof.passed ? "passed" : "FAILED"}: ${d.proof.probes.map((p) => `${p.name} (${p.when}) exit ${p.exit}`).join(", ")}`,
    );
  lines.push(out.gates.map((g) => `${g.id} ${g.status}`).join("  "), `report: ${out.report}`);
  return lines;
}

runCommand(SPEC, async (values) => {
  const root = projectRoot();
  const given = values["config-file"] as string | undefined;
  if (given !== undefined) readOptionFile("config-file", given, "pass a Pulumi.<stack>.yaml");
  process.chdir(root);
  const local = await prepareLocalStack(root, {
    configFile: given === undefined ? undefined : path.resolve(given),
    release: values.release as string | undefined,
  });
  const rel = (f: string) => path.relative(root, f);
  console.log(
    `signing key: ${rel(local.key.file)} (public: ${rel(local.key.publicFile)})\n` +
      `stack: local on ${local.backend}, settings ${rel(local.settings)}` +
      `${local.madeSettings ? " (made from examples/local-stack.yaml)" : ""}, passphrase ${rel(local.passphraseFile)}`,
  );
  // The up follows the preview the operator has just seen: it does not run the program twice.
  const steps = [
    {
      title: "pulumi preview --stack local",
      run: () => local.stack.preview(["--suppress-outputs"], true),
    },
    {
      title: "pulumi up --stack local",
      run: () => local.stack.up(["--skip-preview", "--suppress-outputs"], true),
    },
  ];
  for (const step of steps) {
    console.log(`\n== ${step.title} ==`);
    if ((await step.run()).code !== 0) return EXIT.refused;
  }
  const out = await local.stack.outputs<StackOutputs>();
  console.log(`\n== the up's outputs ==\n${summary(out).join("\n")}`);
  // Saved as pulumi stack output attestation --json saves it, then checked as npm run verify checks it.
  const saved = out.report.replace(/\.md$/, ".attestation.json");
  fs.writeFileSync(saved, JSON.stringify(out.attestation, null, 2));
  console.log(`result: ${out.result}; attestation: ${saved}`);
  const checks = await verifyAttestation({
    attestation: fs.readFileSync(saved, "utf8"),
    publicKey: fs.readFileSync(local.key.publicFile, "utf8"),
    // A kept release (a rollback by release) has no artifact file here: nothing was built.
    artifact: out.artifact.kept ? undefined : out.artifact.path,
    servers: { raw: readStackFile(local.settings) },
  });
  const { text, ok } = renderChecks(checks, { requireSignature: true });
  console.log(
    `npm run verify -- --attestation ${rel(saved)} --public-key ${rel(local.key.publicFile)} --require-signature${out.artifact.kept ? "" : ` --artifact ${rel(out.artifact.path)}`} --stack local\n${text}`,
  );
  return ok ? EXIT.ok : EXIT.refused;
});
