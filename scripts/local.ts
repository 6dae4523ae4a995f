import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { renderChecks, verifyAttestation } from "../tools/verify/run";
import { CommandLifecycle } from "../harness/lifecycle";
import { runProgram } from "../harness/program";
import { describeBackup } from "../evidence/gateLines";
import { projectRoot } from "../harness/paths";
import { ensureSampleRepo, SAMPLE_REPO } from "../harness/sampleRepo";
import { readStackFile, stackFilePath } from "../config/stackFile";
import { CommandSpec, EXIT, readOptionFile, runCommand } from "./cli";

/** Where the local stack's signing key lives: made once, kept, shown by path. */
const SIGNING_KEY = ".ssot-deploy/attestation-key.pem";

/**
 * The local stack's signing key: an ed25519 key generated on the first run (private key mode
 * 600, the public key beside it as .pub), so the main job signs and verifies its attestation.
 */
function localSigningKey(root: string): { pem: string; file: string; publicFile: string } {
  const file = path.join(root, SIGNING_KEY);
  const publicFile = file.replace(/\.pem$/, ".pub");
  if (!fs.existsSync(file)) {
    const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    fs.writeFileSync(publicFile, publicKey.export({ type: "spki", format: "pem" }));
  }
  return { pem: fs.readFileSync(file, "utf8"), file, publicFile };
}

/**
 * The local stack, run in-process: the program under Pulumi's mocked engine, first as a
 * preview and then as an up, with the command provider's lifecycle played for real against
 * .ssot-deploy/local-server. The provider state lives for this process only, as if each run
 * were a fresh stack: the layout on disk is what carries over. The sample repository is made
 * only at the path the stack ships with; any other missing repo is G0's refusal. Exits
 * non-zero when a gate blocks or the attestation does not verify.
 */
const SPEC: CommandSpec = {
  name: "local",
  summary:
    "The main job: the local stack, previewed then deployed in-process to .ssot-deploy/local-server, " +
    "its attestation signed with .ssot-deploy/attestation-key.pem and verified.",
  options: {
    "config-file": {
      type: "string",
      value: "<file>",
      description: "the stack's settings (default: Pulumi.local.yaml)",
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

runCommand(SPEC, async (values) => {
  const root = projectRoot();
  const given = values["config-file"] as string | undefined;
  if (given !== undefined) readOptionFile("config-file", given, "pass a Pulumi.<stack>.yaml");
  const configFile = path.resolve(given ?? stackFilePath(root, "local"));
  process.chdir(root);
  const release = values.release as string | undefined;
  const config: Record<string, string> = readStackFile(configFile);
  if (release !== undefined) config.release = release;
  if (config.repo === SAMPLE_REPO) ensureSampleRepo(path.resolve(root, SAMPLE_REPO));
  const key = localSigningKey(root);
  console.log(
    `signing key: ${path.relative(root, key.file)} (public: ${path.relative(root, key.publicFile)})`,
  );
  const lifecycle = new CommandLifecycle();
  for (const preview of [true, false]) {
    console.log(`\n== ${preview ? "preview" : "up"} (stack local, in-process) ==`);
    const run = await runProgram(
      { ...config, attestationKey: key.pem },
      { preview, stack: "local", lifecycle },
    );
    if (run.error) {
      console.error(run.error.message);
      return EXIT.refused;
    }
    const out = run.outputs!;
    console.log(`artifact: ${out.artifact.path}`);
    console.log(
      `  commit ${out.artifact.commit}, ${out.artifact.files} files, sha256 ${out.artifact.sha256}`,
    );
    console.log(
      `tests: ${out.tests.passed}/${out.tests.total} passed${out.artifact.kept ? " (not run: the signed result of its first deploy)" : out.tests.cached ? " (cached)" : ""}`,
    );
    for (const [host, d] of Object.entries(out.deploy ?? {})) {
      console.log(
        `deploy ${host}: ${d.promoted} ${d.previous || "nothing"} -> ${d.releaseId}; ${describeBackup(d.backup)}`,
      );
      console.log(
        `  kill-switch declared ${d.killSwitch.declared}, read back ${d.killSwitch.readBack}; restarted ${d.restarted}`,
      );
      console.log(
        `  proof ${d.proof.passed ? "passed" : "FAILED"}: ${d.proof.probes.map((p) => `${p.name} (${p.when}) exit ${p.exit}`).join(", ")}`,
      );
    }
    console.log(out.gates.map((g) => `${g.id} ${g.status}`).join("  "));
    console.log(`report: ${out.report}`);
    if (out.attestation !== undefined) {
      // Saved as pulumi stack output attestation --json would save it, then checked as npm run verify checks it.
      const saved = out.report.replace(/\.md$/, ".attestation.json");
      fs.writeFileSync(saved, JSON.stringify(out.attestation, null, 2));
      console.log(`result: ${out.result}; attestation: ${saved}`);
      const checks = await verifyAttestation({
        attestation: fs.readFileSync(saved, "utf8"),
        publicKey: fs.readFileSync(key.publicFile, "utf8"),
        // A kept release (a rollback by release) has no artifact file here: nothing was built.
        artifact: out.artifact.kept ? undefined : out.artifact.path,
        servers: { raw: config },
      });
      const { text, ok } = renderChecks(checks, { requireSignature: true });
      const rel = (f: string) => path.relative(root, f);
      console.log(
        `npm run verify -- --attestation ${rel(saved)} --public-key ${rel(key.publicFile)} --require-signature${out.artifact.kept ? "" : ` --artifact ${rel(out.artifact.path)}`} --stack local\n${text}`,
      );
      if (!ok) return EXIT.refused;
    }
  }
  return EXIT.ok;
});
