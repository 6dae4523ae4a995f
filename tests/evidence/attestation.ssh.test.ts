import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { TOOL_VERSION } from "../../evidence/statements";
import { StackOutputs } from "../../tools/outputs";
import { Check } from "../../tools/verify/checks";
import { renderChecks, verifyAttestation } from "../../tools/verify/run";
import { expectVerified, savedAttestation, signingKeyPair, verifyAgainst } from "../helpers/attest";
import { engineStack, sshStackConfig, sshSuite } from "../helpers/stack";
import { projectRoot } from "../../lib/paths";

const failedOf = (checks: Check[]) =>
  checks.filter((c) => c.outcome === "FAILED").map((c) => `${c.name}: ${c.detail}`);

/** Flips one byte of a file in place and returns a function that puts it back. */
function flipByte(file: string, at: (buf: Buffer) => number): () => void {
  const original = fs.readFileSync(file);
  const changed = Buffer.from(original);
  const i = at(changed);
  changed[i] = changed[i] ^ 0x01;
  fs.writeFileSync(file, changed);
  return () => fs.writeFileSync(file, original);
}

describe("the attestation of a deploy, checked by npm run verify", function () {
  this.timeout(180_000);
  const suite = sshSuite();
  const held = engineStack();
  const signer = signingKeyPair();
  let config: Record<string, string>;
  let out: StackOutputs;
  let saved: string;
  let revisions: string;

  before(async () => {
    config = sshStackConfig(suite.repo.dir, suite.work, suite.sshd, {
      attestationKey: signer.privateKey,
    });
    revisions = path.join(suite.work, "srv", "app", ".deploy", "revisions.jsonl");
    for (const v of ["v1", "v2"]) {
      if (v === "v2") suite.repo.commit("v2", { "app/extra.py": "X = 2\n" });
      const run = await held.stack.up(config);
      expect(run.error, run.error?.message).to.equal(undefined);
      out = run.outputs!;
    }
    saved = savedAttestation(out);
  });

  it("holds three statements on the artifact: SLSA provenance, a test result and the deploy", () => {
    const a = out.attestation;
    expect(a.statements.map((s) => s.predicateType)).to.deep.equal([
      "https://slsa.dev/provenance/v1",
      "https://in-toto.io/attestation/test-result/v0.1",
      "urn:ssot-deploy:predicate:deploy:v1",
    ]);
    for (const s of a.statements) {
      expect(s.statement._type).to.equal("https://in-toto.io/Statement/v1");
      expect(s.statement.subject).to.deep.equal([
        { name: path.basename(out.artifact.path), digest: { sha256: out.artifact.sha256 } },
      ]);
    }
    const provenance = a.statements[0].statement.predicate as {
      buildDefinition: {
        externalParameters: Record<string, unknown>;
        internalParameters: Record<string, unknown>;
        resolvedDependencies: { uri: string; digest: Record<string, string> }[];
      };
      runDetails: {
        builder: { id: string };
        metadata: { invocationId: string; startedOn: string; finishedOn: string };
      };
    };
    // The fixture repo has no remote: the source is named by its path.
    expect(provenance.buildDefinition.externalParameters).to.deep.equal({
      source: `git+file://${suite.repo.dir}`,
      ref: "HEAD",
      branch: "main",
      excludes: [],
    });
    expect(provenance.buildDefinition.resolvedDependencies[0].uri).to.equal(
      `git+file://${suite.repo.dir}`,
    );
    // The builder is this tool at its version, whoever runs it; the operator is a parameter.
    expect(provenance.runDetails.builder.id).to.equal(`urn:ssot-deploy:builder:v${TOOL_VERSION}`);
    expect(provenance.buildDefinition.internalParameters.operator).to.equal(
      `${os.userInfo().username}@${os.hostname()}`,
    );
    expect(provenance.buildDefinition.resolvedDependencies[0].digest.gitCommit).to.equal(
      suite.repo.head(),
    );
    const m = provenance.runDetails.metadata;
    expect(m.invocationId).to.match(/^[0-9a-f-]{36}$/);
    expect(Date.parse(m.finishedOn)).to.be.at.least(Date.parse(m.startedOn));
    expect(a.statements[1].statement.predicate).to.deep.include({
      result: "PASSED",
      failedTests: [],
    });
    expect(a.envelopes).to.have.length(3);
  });

  it("records per host the releases, the backup, the kill-switch read back, the proof and no production mutation", () => {
    const deploy = out.attestation.statements[2].statement.predicate as {
      result: string;
      hosts: Record<string, unknown>[];
    };
    expect(deploy.result).to.equal("deployed");
    expect(deploy.hosts).to.have.length(1);
    const web1 = deploy.hosts[0];
    expect(web1).to.deep.include({
      host: "web1",
      releaseId: out.artifact.releaseId,
      promoted: "switched",
      manifestSha256: out.artifact.manifestSha256,
      servicesRestarted: [],
      drift: null,
      productionMutation: "UNMEASURED",
    });
    expect(web1.previousRelease).to.match(/^[0-9a-f]{12}-[0-9a-f]{8}$/);
    expect(web1.backup).to.deep.equal({
      kind: "release",
      path: `releases/${web1.previousRelease as string}`,
      sha256: null,
    });
    expect(web1.killSwitch).to.deep.equal({
      file: "kill-switch.json",
      key: "execution_enabled",
      declared: false,
      readBack: false,
    });
    expect(web1.revisionSha256).to.match(/^[0-9a-f]{64}$/);
  });

  it("is accepted whole: statements, signatures, the artifact file and the live server", async () => {
    const checks = await expectVerified(out, config, signer.publicKey);
    expect(checks.map((c) => c.name)).to.deep.equal([
      "statement 1 (https://slsa.dev/provenance/v1)",
      "statement 2 (https://in-toto.io/attestation/test-result/v0.1)",
      "statement 3 (urn:ssot-deploy:predicate:deploy:v1)",
      "subject",
      "signature 1 (https://slsa.dev/provenance/v1)",
      "signature 2 (https://in-toto.io/attestation/test-result/v0.1)",
      "signature 3 (urn:ssot-deploy:predicate:deploy:v1)",
      "artifact",
      "web1: current",
      "web1: manifest",
      "web1: tree",
      "web1: revisions log",
      "web1: revision",
    ]);
  });

  it("rejects an artifact one byte different, naming both digests, and says when no manifest is beside it", async () => {
    const copy = path.join(suite.work, "artifact-copy.tar.gz");
    fs.copyFileSync(out.artifact.path, copy);
    flipByte(copy, (b) => b.length >> 1);
    const checks = await verifyAgainst(saved, config, {
      publicKey: signer.publicKey,
      artifact: copy,
    });
    expect(failedOf(checks)).to.have.length(1);
    expect(failedOf(checks)[0]).to.match(
      new RegExp(
        `^artifact: ${copy} has sha256 [0-9a-f]{64}, the attestation's subject is ${out.artifact.sha256}; ` +
          `no manifest at ${suite.work}/artifact-copy.sha256sums to name the files that differ$`,
      ),
    );
  });

  it("names the files of an artifact that changed, were added or went missing, read against its manifest", async () => {
    const dir = path.join(suite.work, "rebuilt");
    fs.mkdirSync(dir, { recursive: true });
    // An archive with one file changed, one added and one gone, beside the attested manifest.
    const tree = path.join(suite.work, "tree");
    fs.rmSync(tree, { recursive: true, force: true });
    fs.mkdirSync(tree);
    execFileSync("tar", ["-xzf", out.artifact.path, "-C", tree]);
    fs.appendFileSync(path.join(tree, "app", "service.py"), "# changed\n");
    fs.writeFileSync(path.join(tree, "app", "added.py"), "Y = 1\n");
    fs.rmSync(path.join(tree, "app", "extra.py"));
    const copy = path.join(dir, path.basename(out.artifact.path));
    execFileSync("tar", ["-czf", copy, "-C", tree, "."]);
    const manifest = out.artifact.path.replace(/\.tar\.gz$/, ".sha256sums");
    fs.copyFileSync(manifest, copy.replace(/\.tar\.gz$/, ".sha256sums"));
    const failed = failedOf(await verifyAgainst(saved, config, { artifact: copy }));
    expect(failed).to.have.length(1);
    expect(failed[0]).to.match(
      /; 3 file\(s\) differ \(1 changed, 1 added, 1 missing\): app\/service\.py \(changed\), app\/added\.py \(added\), app\/extra\.py \(missing\)$/,
    );
    // A manifest that is not the attested one is not trusted to name anything.
    fs.appendFileSync(copy.replace(/\.tar\.gz$/, ".sha256sums"), "\n");
    const untrusted = failedOf(await verifyAgainst(saved, config, { artifact: copy }));
    expect(untrusted[0]).to.match(
      /is not the manifest the provenance records, so the files that differ are not named$/,
    );
  });

  it("rejects a statement one byte different: its digest and its signature no longer hold", async () => {
    const altered = saved.replace('"promoted": "switched"', '"promoted": "switchee"');
    expect(altered).to.not.equal(saved);
    const failed = failedOf(await verifyAgainst(altered, config, { publicKey: signer.publicKey }));
    expect(failed).to.have.length(2);
    expect(failed[0]).to.match(
      /^statement 3 \(urn:ssot-deploy:predicate:deploy:v1\): altered: its JCS sha256 is [0-9a-f]{64}, the attestation records [0-9a-f]{64}$/,
    );
    expect(failed[1]).to.equal(
      "signature 3 (urn:ssot-deploy:predicate:deploy:v1): the signed payload is not the statement carried beside it",
    );
  });

  it("rejects a signature by another key, and says an unsigned check was skipped", async () => {
    const other = signingKeyPair();
    const failed = failedOf(await verifyAgainst(saved, config, { publicKey: other.publicKey }));
    expect(failed).to.have.length(3);
    expect(failed[0]).to.match(
      /^signature 1 \(.*\): no signature by key [0-9a-f]{16}… \(signed by: [0-9a-f]{16}\)$/,
    );
    const unkeyed = await verifyAgainst(saved, config, {});
    expect(unkeyed.find((c) => c.name === "signatures")).to.deep.equal({
      name: "signatures",
      outcome: "skipped",
      detail: "no --public-key given",
    });
  });

  it("rejects a revisions log whose older line changed by one byte, naming the first broken entry", async () => {
    const restore = flipByte(revisions, (b) => b.indexOf('"who":"') + 8);
    try {
      const failed = failedOf(await verifyAgainst(saved, config, {}));
      expect(failed[0]).to.match(
        /^web1: revisions log: hash chain broken at line 2 \(\S+\) chains to [0-9a-f]{16}… but the line before it hashes to [0-9a-f]{16}…: line 1 was altered, or a line was inserted or removed$/,
      );
    } finally {
      restore();
    }
  });

  it("rejects a revisions log whose attested last line changed by one byte", async () => {
    const restore = flipByte(revisions, (b) => b.lastIndexOf('"who":"') + 8);
    try {
      const failed = failedOf(await verifyAgainst(saved, config, {}));
      expect(failed).to.have.length(1);
      expect(failed[0]).to.match(
        /^web1: revision: no intact line of the revisions log hashes to [0-9a-f]{64} for \S+: the entry was altered or removed$/,
      );
    } finally {
      restore();
    }
  });

  it("rejects a live tree changed after the deploy", async () => {
    const file = path.join(suite.work, "srv", "app", "current", "app", "extra.py");
    const restore = flipByte(file, () => 0);
    try {
      const failed = failedOf(await verifyAgainst(saved, config, {}));
      expect(failed).to.deep.equal([
        `web1: tree: releases/${out.artifact.releaseId} does not match its manifest: 1 file(s) differ (1 changed, 0 added, 0 missing): app/extra.py (changed)`,
      ]);
    } finally {
      restore();
    }
  });

  it("names every live file that changed, was added or went missing, the first ten and the count", async () => {
    const live = path.join(suite.work, "srv", "app", "current");
    const service = path.join(live, "app", "service.py");
    const original = fs.readFileSync(service);
    fs.rmSync(service);
    const added = Array.from({ length: 9 }, (_, i) => path.join(live, `added-${i}.txt`));
    for (const f of added) fs.writeFileSync(f, "x\n");
    fs.writeFileSync(path.join(live, "odd\nname.txt"), "y\n");
    try {
      const failed = failedOf(await verifyAgainst(saved, config, {}));
      expect(failed).to.deep.equal([
        `web1: tree: releases/${out.artifact.releaseId} does not match its manifest: 11 file(s) differ (0 changed, 10 added, 1 missing): ` +
          [
            ...[0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => `added-${i}.txt (added)`),
            "odd\\nname.txt (added)",
          ].join(", ") +
          " and 1 more",
      ]);
    } finally {
      for (const f of added) fs.rmSync(f);
      fs.rmSync(path.join(live, "odd\nname.txt"));
      fs.writeFileSync(service, original);
    }
  });

  it("refuses to check the servers of another stack than the one the attestation is of", async () => {
    const checks = await verifyAttestation({
      attestation: saved,
      servers: { stack: "contabo", raw: config, privateKey: suite.sshd.userKey.privateKey },
    });
    expect(failedOf(checks)).to.deep.equal([
      `servers: the attestation is of a deploy of stack ${held.stack.name}, not contabo: its servers were not read; pass --stack ${held.stack.name}, or the attestation of a deploy of contabo`,
    ]);
  });

  it("calls an unsigned attestation UNSIGNED, not VERIFIED, and --require-signature rejects it", async () => {
    const unsigned = JSON.stringify({ ...out.attestation, envelopes: [] });
    const checks = await verifyAgainst(unsigned, config, { artifact: out.artifact.path });
    const plain = renderChecks(checks);
    expect(plain.ok).to.equal(true);
    expect(plain.text.split("\n").pop()).to.equal(
      "UNSIGNED: consistent with the artifact and the servers; origin not proven (10 check(s) held, 1 skipped); set attestationKey to sign",
    );
    const required = renderChecks(checks, { requireSignature: true });
    expect(required.ok).to.equal(false);
    expect(required.text.split("\n").pop()).to.equal(
      "REJECTED: --require-signature, and the origin is not proven: unsigned; set attestationKey to sign",
    );
    // Signed, but checked without the public key: consistent, origin still not proven.
    const unkeyed = renderChecks(await verifyAgainst(saved, config, {}));
    expect(unkeyed.text.split("\n").pop()).to.match(
      /^ORIGIN NOT CHECKED: consistent with the servers; origin not proven \(9 check\(s\) held, 1 skipped\); pass --public-key/,
    );
  });

  it("runs as npm run verify: exit 0 when it holds, exit 1 with the reason when one byte changed", () => {
    const file = path.join(suite.work, "attestation.json");
    fs.writeFileSync(file, saved);
    const keyFile = path.join(suite.work, "key");
    fs.writeFileSync(keyFile, suite.sshd.userKey.privateKey, { mode: 0o600 });
    const pub = path.join(suite.work, "attest.pub");
    fs.writeFileSync(pub, signer.publicKey);
    const cli = path.join(projectRoot(), "dist", "scripts", "verify.js");
    const args = [
      "--attestation",
      file,
      "--public-key",
      pub,
      "--artifact",
      out.artifact.path,
      // The settings the up ran with, as the CLI wrote them: sshPrivateKey there is encrypted.
      "--stack",
      held.stack.name,
      "--config-file",
      held.stack.configFile,
      "--key",
      keyFile,
    ];
    const okRun = execFileSync("node", [cli, ...args], { encoding: "utf8" });
    expect(okRun).to.match(
      /^VERIFIED: 13 check\(s\) held, 0 skipped; signed by the key given, so its origin is proven$/m,
    );
    fs.writeFileSync(
      file,
      saved.replace(out.artifact.sha256, `${out.artifact.sha256.slice(0, 63)}0`),
    );
    const bad = spawnSync("node", [cli, ...args], { encoding: "utf8" });
    expect(bad.status).to.equal(1);
    expect(bad.stdout).to.match(/^REJECTED: \d+ check\(s\) failed: .*artifact/m);
  });

  it("writes a report of the up that reads like the seed's: result, gates, change set, non-mutation lines", () => {
    const text = fs.readFileSync(out.report, "utf8");
    expect(path.dirname(out.report)).to.equal(path.join(suite.work, "reports", held.stack.name));
    expect(text).to.contain("FINAL RESULT: deployed\n");
    expect(text).to.match(/^\| G6 postdeploy proof \| PASS \| /m);
    expect(text).to.contain("- added `app/extra.py` sha256 ");
    expect(text).to.contain(
      `deployed tree: web1 releases/${out.artifact.releaseId} switched (manifest sha256 ${out.artifact.manifestSha256})`,
    );
    expect(text).to.contain("execution_enabled: false declared; web1 read back false");
    expect(text).to.contain("production_mutation: web1 UNMEASURED (no invariants declared)");
    expect(text).to.contain("secrets logged: none");
    for (const s of out.attestation.statements)
      expect(text).to.contain(`- ${s.predicateType} sha256 ${s.sha256}`);
  });

  it("says no change for an up that found the release live and as declared", async () => {
    const run = await held.stack.up(config);
    expect(run.error, run.error?.message).to.equal(undefined);
    expect(run.outputs!.result).to.equal("no change");
    expect(fs.readFileSync(run.outputs!.report, "utf8")).to.contain("FINAL RESULT: no change\n");
    await expectVerified(run.outputs!, config, signer.publicKey);
  });
});
