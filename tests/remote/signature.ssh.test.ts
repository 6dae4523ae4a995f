import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { BuiltArtifact } from "../../gates/artifact/build";
import { hostSteps } from "../../deploy/hostSteps";
import { keyIdOfSpki } from "../../remote/signature";
import { blockedLine, keyValues } from "../../remote/sh";
import { splitSteps, transactionScript } from "../../remote/transaction";
import { SshSession } from "../../survey/ssh";
import { liveState } from "../helpers/catalogue";
import {
  deployOver,
  DeployOptions,
  evidenceOf,
  OPERATOR as ME,
  REUPLOAD,
  settings,
  testSigner,
} from "../helpers/release";
import { FixtureRepo, tempDir } from "../helpers/repo";
import { releaseSuite } from "../helpers/releaseSuite";

/** The envelope lines of `evidence`, the provenance's changed by `change`. */
function alterProvenance(
  evidence: string,
  change: (env: { payload: string; signatures: { keyid: string; sig: string }[] }) => void,
): string {
  return evidence
    .trimEnd()
    .split("\n")
    .map((line) => {
      const env = JSON.parse(line);
      const payload = Buffer.from(env.payload, "base64").toString("utf8");
      if (payload.includes('"predicateType":"https://slsa.dev/provenance/v1"')) change(env);
      return JSON.stringify(env);
    })
    .join("\n")
    .concat("\n");
}

describe("the Signature step, over SSH to a real sshd: the server checks the release's signed provenance before the switch", function () {
  this.timeout(60_000);
  const suite = releaseSuite();
  let ssh: SshSession;
  let repo: FixtureRepo;
  let root: string;
  let v1: BuiltArtifact;
  let v2: BuiltArtifact;
  const trusted = testSigner();
  const untrusted = testSigner();
  const TRUST = { trustedKeys: [trusted.spki] };
  const id16 = (spki: string) => `${keyIdOfSpki(spki).slice(0, 16)}…`;

  before(() => {
    ({ ssh, repo, v1, v2 } = suite.get());
  });
  beforeEach(async () => {
    root = path.join(tempDir("ssot-root-"), "app");
    const first = await deploy(v1, {
      ...TRUST,
      evidence: evidenceOf(v1, trusted.privateKey, repo.dir),
    });
    expect(first.code, first.stdout).to.equal(0);
  });

  const deploy = (a: BuiltArtifact, o: DeployOptions = {}) => deployOver(ssh, root, a, ME, o);
  const evidencePath = (a: BuiltArtifact) =>
    path.join(root, ".deploy", "manifests", `${a.releaseId}.intoto.jsonl`);
  const lockHeld = () => fs.existsSync(path.join(root, ".deploy", "lock"));

  /** Deploys v2 with `o`, expecting the Signature step's refusal `text` and v1 left live. */
  async function expectRefusal(o: DeployOptions, text: string) {
    const before = liveState(root);
    const out = await deploy(v2, { ...TRUST, ...o });
    expect(out.code, out.stdout).to.equal(3);
    expect(Object.keys(out.steps).pop()).to.equal("signature");
    expect(out.blocked).to.equal(text);
    expect(liveState(root)).to.deep.equal(before);
    expect(fs.readlinkSync(path.join(root, "current"))).to.equal(`releases/${v1.releaseId}`);
    expect(lockHeld()).to.equal(false);
  }

  it("lets a release whose provenance a trusted key signed go live, naming the key and the digest it recomputed", async () => {
    const out = await deploy(v2, {
      ...TRUST,
      evidence: evidenceOf(v2, trusted.privateKey, repo.dir),
    });
    expect(out.code, out.stdout).to.equal(0);
    expect(out.steps.signature).to.deep.equal({
      signature: "verified",
      signature_key: keyIdOfSpki(trusted.spki),
      signature_sha256: v2.sha256,
    });
    expect(fs.readlinkSync(path.join(root, "current"))).to.equal(`releases/${v2.releaseId}`);
  });

  it("refuses an unsigned release (deployed without the signing key): current untouched, the lock given back", async () => {
    await expectRefusal(
      {},
      `release ${v2.releaseId} has no signed provenance on this server (${evidencePath(v2)} is missing: the deploy that staged it had no attestationKey, or the file was removed), ` +
        `so no trusted key vouches for its artifact (sha256 ${v2.sha256}); current was not switched; ` +
        "run pulumi up from the machine that holds the stack's signing key (attestationKey), or remove hosts[0].trustedKeys " +
        "to deploy without the check (pulumi config rm --path 'hosts[0].trustedKeys')",
    );
  });

  const forged = (a: BuiltArtifact) =>
    `the provenance of release ${a.releaseId} does not verify with the trusted key ${id16(trusted.spki)}: ` +
    "its payload or its signature was changed after it was signed; current was not switched; " +
    `remove ${evidencePath(a)}, then run pulumi up from the machine that holds a trusted signing key (attestationKey), which signs the release again`;

  it("refuses a provenance whose payload was changed after it was signed", async () => {
    const evidence = alterProvenance(evidenceOf(v2, trusted.privateKey, repo.dir), (env) => {
      const text = Buffer.from(env.payload, "base64").toString("utf8");
      env.payload = Buffer.from(
        text.replace('"operator":"op@laptop"', '"operator":"mallory@x"'),
      ).toString("base64");
    });
    expect(evidence).to.not.equal(evidenceOf(v2, trusted.privateKey, repo.dir));
    await expectRefusal({ evidence }, forged(v2));
  });

  it("refuses a provenance whose signature bytes were flipped", async () => {
    const evidence = alterProvenance(evidenceOf(v2, trusted.privateKey, repo.dir), (env) => {
      const sig = Buffer.from(env.signatures[0].sig, "base64");
      sig[10] ^= 0xff;
      env.signatures[0].sig = sig.toString("base64");
    });
    await expectRefusal({ evidence }, forged(v2));
  });

  it("refuses a provenance signed by a key the host does not trust", async () => {
    await expectRefusal(
      { evidence: evidenceOf(v2, untrusted.privateKey, repo.dir) },
      `the provenance of release ${v2.releaseId} is signed by key ${id16(untrusted.spki)}, not by a key hosts[0].trustedKeys trusts ` +
        `(${id16(trusted.spki)}); current was not switched; run pulumi up from the machine that holds a trusted signing key, ` +
        `after you remove ${evidencePath(v2)}; or add that key to hosts[0].trustedKeys if you trust it`,
    );
  });

  describe("a rollback by release: the evidence kept beside the release is checked the same way", () => {
    /** The transaction of a rollback to `a`, kept on the server: nothing staged or uploaded. */
    async function rollBack(a: BuiltArtifact) {
      const steps = hostSteps({
        deploy: settings(root),
        artifact: { ...a, kept: true },
        lock: { ...ME, artifact: a.sha256 },
        exclude: [],
        invariantsBefore: [],
        driftReconciled: false,
        reupload: REUPLOAD,
        trustedKeys: { keys: [trusted.spki], configPath: "hosts[0].trustedKeys" },
      });
      const r = await ssh.exec("sh -s", Buffer.from(transactionScript(steps)));
      return { code: r.code, steps: splitSteps(r.stdout), blocked: blockedLine(r.stdout) };
    }

    beforeEach(async () => {
      const out = await deploy(v2, {
        ...TRUST,
        evidence: evidenceOf(v2, trusted.privateKey, repo.dir),
      });
      expect(out.code).to.equal(0);
    });

    it("switches back to a kept release whose kept provenance a trusted key signed", async () => {
      const out = await rollBack(v1);
      expect(out.code, out.blocked).to.equal(0);
      expect(keyValues(out.steps.signature).signature).to.equal("verified");
      expect(fs.readlinkSync(path.join(root, "current"))).to.equal(`releases/${v1.releaseId}`);
    });

    it("refuses a kept release whose kept provenance was changed on the server: current untouched, the lock given back", async () => {
      const ev = evidencePath(v1);
      fs.writeFileSync(
        ev,
        alterProvenance(fs.readFileSync(ev, "utf8"), (env) => {
          const sig = Buffer.from(env.signatures[0].sig, "base64");
          sig[0] ^= 1;
          env.signatures[0].sig = sig.toString("base64");
        }),
      );
      const before = liveState(root);
      const out = await rollBack(v1);
      expect(out.code).to.equal(3);
      expect(out.blocked).to.equal(forged(v1));
      expect(liveState(root)).to.deep.equal(before);
      expect(lockHeld()).to.equal(false);
    });
  });
});
