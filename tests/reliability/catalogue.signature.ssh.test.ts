import { expect } from "chai";
import { createPrivateKey, createPublicKey } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { keyIdOfSpki } from "../../remote/signature";
import { signingKeyPair } from "../helpers/attest";
import { expectRunRefused, liveState } from "../helpers/catalogue";
import { artifactOf, evidenceOf } from "../helpers/release";
import { tempDir } from "../helpers/repo";
import { deployedSuite, web1Hosts } from "../helpers/stack";

/** A key pair as a stack holds it (PEM) and as a host pins it (base64 SPKI DER). */
function pinned() {
  const pair = signingKeyPair();
  const spki = createPublicKey(pair.publicKey)
    .export({ type: "spki", format: "der" })
    .toString("base64");
  return { ...pair, spki, id16: `${keyIdOfSpki(spki).slice(0, 16)}…` };
}

describe("signature: the server refuses, before the switch, a release no trusted key signed", function () {
  this.timeout(180_000);
  const s = deployedSuite();
  const trusted = pinned();
  const untrusted = pinned();
  const trusting = () => ({ hosts: web1Hosts(s.sshd, { trustedKeys: [trusted.spki] }) });

  /** A new commit, and the release id and artifact sha256 the stack builds of it. */
  async function commit(what: string) {
    s.repo.commit(what, { "app/version.py": `V = ${JSON.stringify(what)}\n` });
    const scratch = tempDir();
    try {
      return await artifactOf(s.repo, s.repo.head(), scratch);
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }
  const evidencePath = (id: string) =>
    path.join(s.root, ".deploy", "manifests", `${id}.intoto.jsonl`);

  it("refuses a release deployed without the signing key (unsigned)", async () => {
    const a = await commit("unsigned");
    const before = liveState(s.root);
    const run = await s.up(trusting());
    expectRunRefused(
      "signature",
      run,
      `release ${a.releaseId} has no signed provenance on this server (${evidencePath(a.releaseId)} is missing: the deploy that staged it had no attestationKey, or the file was removed), ` +
        `so no trusted key vouches for its artifact (sha256 ${a.sha256}); current was not switched; ` +
        "run pulumi up from the machine that holds the stack's signing key (attestationKey), or remove hosts[0].trustedKeys " +
        "to deploy without the check (pulumi config rm --path 'hosts[0].trustedKeys')",
      before,
      liveState(s.root),
    );
  });

  it("refuses a release signed by a key the host does not trust", async () => {
    const a = await commit("untrusted");
    const before = liveState(s.root);
    const run = await s.up({ ...trusting(), attestationKey: untrusted.privateKey });
    expectRunRefused(
      "signature",
      run,
      `the provenance of release ${a.releaseId} is signed by key ${untrusted.id16}, not by a key hosts[0].trustedKeys trusts ` +
        `(${trusted.id16}); current was not switched; run pulumi up from the machine that holds a trusted signing key, ` +
        `after you remove ${evidencePath(a.releaseId)}; or add that key to hosts[0].trustedKeys if you trust it`,
      before,
      liveState(s.root),
    );
  });

  it("refuses a release whose evidence on the server was forged (its payload changed after it was signed)", async () => {
    const a = await commit("forged");
    // Evidence planted beside where the release will be staged, which the stage step keeps:
    // signed by the trusted key, then its provenance's payload changed.
    const signed = evidenceOf(a, createPrivateKey(trusted.privateKey), s.repo.dir);
    const forged = signed
      .trimEnd()
      .split("\n")
      .map((line) => {
        const env = JSON.parse(line);
        const text = Buffer.from(env.payload, "base64").toString("utf8");
        if (text.includes('"predicateType":"https://slsa.dev/provenance/v1"'))
          env.payload = Buffer.from(text.replace('"ref":"HEAD"', '"ref":"evil"')).toString(
            "base64",
          );
        return JSON.stringify(env);
      })
      .join("\n");
    expect(forged).to.not.equal(signed.trimEnd());
    fs.writeFileSync(evidencePath(a.releaseId), `${forged}\n`);
    const before = liveState(s.root);
    const run = await s.up({ ...trusting(), attestationKey: trusted.privateKey });
    expectRunRefused(
      "signature",
      run,
      `the provenance of release ${a.releaseId} does not verify with the trusted key ${trusted.id16}: ` +
        "its payload or its signature was changed after it was signed; current was not switched; " +
        `remove ${evidencePath(a.releaseId)}, then run pulumi up from the machine that holds a trusted signing key (attestationKey), which signs the release again`,
      before,
      liveState(s.root),
    );
  });

  it("deploys a release the trusted key signed", async () => {
    const a = await commit("signed");
    const run = await s.up({ ...trusting(), attestationKey: trusted.privateKey });
    expect(run.error, run.error?.message).to.equal(undefined);
    expect(fs.readlinkSync(path.join(s.root, "current"))).to.equal(`releases/${a.releaseId}`);
    const said = `verified on the server: key ${trusted.id16.slice(0, 16)}… signed the provenance of sha256 ${a.sha256}`;
    expect(run.outputs!.deploy!.web1.signature).to.equal(said);
    const g5 = run.outputs!.gates.find((g) => g.id === "G5")!.detail;
    expect(g5.endsWith(`; signature ${said}`), g5).to.equal(true);
  });
});
