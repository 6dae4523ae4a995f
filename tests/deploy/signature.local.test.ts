import { expect } from "chai";
import { createHash, createPublicKey } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { signingKeyPair } from "../helpers/attest";
import { refusalOf } from "../helpers/catalogue";
import { engineStack, localStackConfig } from "../helpers/stack";
import { FixtureRepo, tempDir } from "../helpers/repo";

describe("trustedKeys on target local, on the real engine: the same Signature step before the switch", function () {
  this.timeout(180_000);
  const held = engineStack();
  const key = signingKeyPair();
  const spki = createPublicKey(key.publicKey)
    .export({ type: "spki", format: "der" })
    .toString("base64");
  let repo: FixtureRepo;
  let workDir: string;
  let root: string;
  let cfg: Record<string, string>;
  before(() => {
    repo = FixtureRepo.create();
    workDir = tempDir();
    root = path.join(workDir, "server", "app");
    cfg = localStackConfig(repo.dir, workDir, { trustedKeys: JSON.stringify([spki]) });
  });
  after(() => {
    repo.remove();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it("refuses an up without the signing key, naming the stack's trustedKeys, and switches nothing", async () => {
    const run = await held.stack.up(cfg);
    const id = fs.readdirSync(path.join(root, "releases"))[0];
    const up = path.join(root, ".deploy", "uploads", `${id}.tar.gz`);
    const sha256 = createHash("sha256").update(fs.readFileSync(up)).digest("hex");
    expect(refusalOf(run.error)).to.equal(
      `release ${id} has no signed provenance on this server (${root}/.deploy/manifests/${id}.intoto.jsonl is missing: ` +
        `the deploy that staged it had no attestationKey, or the file was removed), so no trusted key vouches for its artifact (sha256 ${sha256}); ` +
        "current was not switched; run pulumi up from the machine that holds the stack's signing key (attestationKey), " +
        "or remove trustedKeys to deploy without the check (pulumi config rm --path 'trustedKeys')",
    );
    expect(fs.existsSync(path.join(root, "current"))).to.equal(false);
    expect(fs.existsSync(path.join(root, ".deploy", "lock"))).to.equal(false);
  });

  it("deploys once the stack signs with the trusted key", async () => {
    const run = await held.stack.up({ ...cfg, attestationKey: key.privateKey });
    expect(run.error, run.error?.message).to.equal(undefined);
    expect(fs.readlinkSync(path.join(root, "current"))).to.equal(
      `releases/${run.outputs!.artifact.releaseId}`,
    );
  });
});
