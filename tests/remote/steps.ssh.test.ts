import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { BuiltArtifact } from "../../gates/artifact/build";
import { promoteScript } from "../../remote/promote";
import { stageScript } from "../../remote/stage";
import { acquireLockScript, LockInfo, releaseLockScript } from "../../remote/lock";
import { blockedLine, keyValues } from "../../remote/sh";
import { SshSession } from "../../survey/ssh";
import {
  artifactOf,
  deployOver,
  DeployOptions,
  deploySteps,
  manifestsOf,
  OPERATOR as ME,
  REUPLOAD,
  snapshot,
  upload,
} from "../helpers/release";
import { FixtureRepo, tempDir } from "../helpers/repo";
import { releaseSuite } from "../helpers/releaseSuite";
import { projectRoot } from "../../lib/paths";

describe("the release scripts, over SSH to a real sshd", function () {
  this.timeout(60_000);
  const suite = releaseSuite();
  let ssh: SshSession;
  let repo: FixtureRepo;
  let work: string;
  let root: string;
  let v1: BuiltArtifact;
  let v2: BuiltArtifact;

  before(() => {
    ({ ssh, repo, work, v1, v2 } = suite.get());
  });
  beforeEach(() => {
    root = path.join(tempDir("ssot-root-"), "app");
  });

  async function run(text: string) {
    const r = await ssh.run(text);
    return { ...r, kv: keyValues(r.stdout), blocked: blockedLine(r.stdout) };
  }

  const deploy = (a: BuiltArtifact, o: DeployOptions = {}) => deployOver(ssh, root, a, ME, o);
  const stage = (a: BuiltArtifact, sharedFiles: string[]) =>
    run(
      stageScript({
        root,
        ...manifestsOf(a),
        releaseId: a.releaseId,
        sha256: a.sha256,
        reupload: REUPLOAD,
        sharedFiles,
        lockToken: ME.token,
      }),
    );

  const link = () => fs.readlinkSync(path.join(root, "current"));
  const revisions = () =>
    fs.readFileSync(path.join(root, ".deploy/revisions.jsonl"), "utf8").trim().split("\n");

  it("deploys a first release side by side and points current at it", async () => {
    const out = await deploy(v1);
    expect(out.code).to.equal(0);
    // Every step of the production sequence ran, in its order.
    expect(Object.keys(out.steps)).to.deep.equal(deploySteps(root, v1, ME).map((s) => s.name));
    expect(out.steps.stage.staged).to.equal("new");
    expect(out.steps.backup.backup).to.equal("none");
    expect(out.steps.proof.proof).to.equal("passed");
    expect(link()).to.equal(`releases/${v1.releaseId}`);
    expect(fs.readFileSync(path.join(root, "current/app/service.py"), "utf8")).to.equal(
      fs.readFileSync(
        path.join(projectRoot(), "examples", "sample-app", "app", "service.py"),
        "utf8",
      ),
    );
    expect(fs.readlinkSync(path.join(root, "current/.env"))).to.equal(
      path.join(root, "shared/.env"),
    );
    expect(fs.existsSync(path.join(root, ".deploy/lock"))).to.equal(false);
    const entry = JSON.parse(revisions()[0]);
    expect(entry).to.deep.include({
      releaseId: v1.releaseId,
      commit: v1.commit,
      sha256: v1.sha256,
      who: "op",
      previous: null,
      prevHash: null,
    });
  });

  it("keeps an intact live release staged instead of archiving it, and chains the revisions log", async () => {
    await deploy(v1);
    const out = await deploy(v2);
    expect(out.steps.backup).to.deep.equal({
      backup: `releases/${v1.releaseId}`,
      backup_kind: "release",
    });
    const backups = path.join(root, "backups");
    expect(fs.existsSync(backups) ? fs.readdirSync(backups) : []).to.deep.equal([]);
    expect(link()).to.equal(`releases/${v2.releaseId}`);
    expect(
      fs.readFileSync(path.join(root, "releases", v1.releaseId, "app/service.py"), "utf8"),
    ).to.equal(
      fs.readFileSync(
        path.join(projectRoot(), "examples", "sample-app", "app", "service.py"),
        "utf8",
      ),
    );
    const [first, second] = revisions();
    expect(JSON.parse(second)).to.deep.include({
      releaseId: v2.releaseId,
      previous: v1.releaseId,
      prevHash: createHash("sha256").update(`${first}\n`).digest("hex"),
    });
  });

  it("archives a drifted live release before replacing it with a verified copy, when drift is accepted", async () => {
    await deploy(v1);
    const live = path.join(root, "current/app/service.py");
    fs.appendFileSync(live, "# edited on the server\n");
    const edited = fs.readFileSync(live, "utf8");
    const before = snapshot(root);

    const refused = await deploy(v1);
    expect(refused.code).to.equal(3);
    expect(refused.blocked).to.equal(
      `the live release ${v1.releaseId} no longer matches its manifest (drift since the survey); current was not switched; ` +
        "run pulumi preview to see the drift, then npm run reconcile, or pulumi config set acceptDrift true to replace it after a backup",
    );
    expect(snapshot(root)).to.deep.equal(before);

    const out = await deploy(v1, { acceptDrift: true });
    expect(out.code).to.equal(0);
    expect(out.steps.backup.backup_kind).to.equal("archive");
    expect(out.steps.stage.staged).to.equal("replaced-drifted");
    const archive = out.steps.backup.backup;
    expect(archive).to.match(new RegExp(`/backups/\\d{8}T\\d{6}Z-${v1.releaseId}\\.tar\\.gz$`));
    expect(createHash("sha256").update(fs.readFileSync(archive)).digest("hex")).to.equal(
      out.steps.backup.backup_sha256,
    );
    const held = execFileSync("tar", ["-xzOf", archive, "./app/service.py"], { encoding: "utf8" });
    expect(held).to.equal(edited);
    expect(link()).to.equal(`releases/${v1.releaseId}`);
    expect(fs.readFileSync(live, "utf8")).to.equal(
      fs.readFileSync(
        path.join(projectRoot(), "examples", "sample-app", "app", "service.py"),
        "utf8",
      ),
    );
    expect(fs.readdirSync(path.join(root, "releases"))).to.deep.equal([v1.releaseId]);
  });

  it("treats a release already staged and verified as present, with no upload needed", async () => {
    await deploy(v1);
    fs.rmSync(path.join(root, `.deploy/uploads/${v1.releaseId}.tar.gz`));
    const r = await run(acquireLockScript(root, ME, false, 3600));
    const staged = await stage(v1, [".env"]);
    expect([r.kv.lock, staged.kv.staged]).to.deep.equal(["acquired", "present"]);
  });

  it("rolls back to a staged release by moving only the symlink", async () => {
    await deploy(v1);
    await deploy(v2);
    const before = snapshot(path.join(root, "releases"));
    const out = await deploy(v1);
    expect(out.steps.stage.staged).to.equal("present");
    expect(link()).to.equal(`releases/${v1.releaseId}`);
    expect(snapshot(path.join(root, "releases"))).to.deep.equal(before);
  });

  it("refuses to switch back to a staged release that was tampered with, naming the file, and leaves the server as it was", async () => {
    await deploy(v1);
    await deploy(v2);
    const rel = path.join(root, "releases", v1.releaseId);
    fs.appendFileSync(path.join(rel, "app/service.py"), "# edited on the server\n");
    const before = snapshot(root);
    const out = await deploy(v1);
    expect(out.code).to.equal(3);
    expect(out.blocked).to.equal(
      `release ${v1.releaseId} on the server does not match its manifest (app/service.py differs): it was changed after it was staged; ` +
        `current was not switched; inspect ${rel}, then remove it to stage a verified copy, or pulumi config set acceptDrift true to replace it`,
    );
    expect(link()).to.equal(`releases/${v2.releaseId}`);
    // The upload went again (deploy() uploads first); everything else is as it was.
    expect(snapshot(root)).to.deep.equal(before);
  });

  it("replaces a tampered staged release with a verified copy from its upload when drift is accepted", async () => {
    await deploy(v1);
    await deploy(v2);
    const file = path.join(root, `releases/${v1.releaseId}/app/service.py`);
    const original = fs.readFileSync(file, "utf8");
    fs.appendFileSync(file, "# edited on the server\n");
    const out = await deploy(v1, { acceptDrift: true });
    expect(out.code).to.equal(0);
    expect(out.steps.stage.staged).to.equal("new");
    expect(link()).to.equal(`releases/${v1.releaseId}`);
    expect(fs.readFileSync(file, "utf8")).to.equal(original);
  });

  it("refuses to stage a tampered release whose upload is gone even when drift is accepted, and leaves current alone", async () => {
    await deploy(v1);
    await deploy(v2);
    fs.appendFileSync(path.join(root, `releases/${v1.releaseId}/app/service.py`), "# edited\n");
    const up = path.join(root, `.deploy/uploads/${v1.releaseId}.tar.gz`);
    fs.rmSync(up);
    await run(acquireLockScript(root, ME, false, 3600));
    const staged = await run(
      stageScript({
        root,
        ...manifestsOf(v1),
        releaseId: v1.releaseId,
        sha256: v1.sha256,
        reupload: REUPLOAD,
        sharedFiles: [".env"],
        lockToken: ME.token,
        acceptDrift: true,
      }),
    );
    expect(staged.code).to.equal(3);
    expect(staged.blocked).to.equal(
      `artifact ${up} is not on the server; current was not switched; upload it again: ${REUPLOAD}`,
    );
    const promoted = await run(
      promoteScript({
        root,
        releaseId: "never-staged",
        commit: v1.commit,
        sha256: v1.sha256,
        who: "op",
        host: "laptop",
        keepReleases: 3,
        lockToken: ME.token,
      }),
    );
    expect(promoted.blocked).to.equal(
      "release never-staged is not staged; refusing to switch current to it; current was not switched; run pulumi up again to stage it",
    );
    expect(link()).to.equal(`releases/${v2.releaseId}`);
  });

  it("refuses a corrupted upload before extracting anything", async () => {
    await upload(ssh, root, v1);
    const file = path.join(root, `.deploy/uploads/${v1.releaseId}.tar.gz`);
    fs.appendFileSync(file, "x");
    const corrupted = createHash("sha256").update(fs.readFileSync(file)).digest("hex");
    await run(acquireLockScript(root, ME, false, 3600));
    const before = snapshot(path.join(root, "releases"));
    const r = await stage(v1, []);
    expect(r.blocked).to.equal(
      `uploaded artifact ${root}/.deploy/uploads/${v1.releaseId}.tar.gz has sha256 ${corrupted}, not ${v1.sha256} (a corrupted upload); current was not switched; upload it again: ${REUPLOAD}`,
    );
    expect(snapshot(path.join(root, "releases"))).to.deep.equal(before);
  });

  it("lets one deploy hold the lock and names it to another", async () => {
    const other: LockInfo = {
      token: "ci@runner:/ci/deploy:contabo",
      holder: "ci",
      host: "runner",
      artifact: v2.sha256,
    };
    expect((await run(acquireLockScript(root, other, false, 3600))).kv.lock).to.equal("acquired");
    const mine = await run(acquireLockScript(root, ME, false, 3600));
    expect(mine.code).to.equal(3);
    expect(mine.blocked).to.match(
      new RegExp(
        `^the deploy lock ${root}/\\.deploy/lock is held by ci on runner since \\S+Z for artifact ${v2.sha256}, \\d+s ago; current was not switched; ` +
          "wait for that deploy to finish, or, if it died, pulumi config set breakStaleLock true and run again$",
      ),
    );
    const refusedStage = await stage(v1, []);
    expect(refusedStage.blocked).to.equal(
      `the deploy lock ${root}/.deploy/lock is not held by this deploy; current was not switched; run pulumi up again`,
    );
    expect((await run(releaseLockScript(root, ME.token, v1.releaseId))).kv.lock).to.equal(
      "not-held",
    );
    expect(fs.readFileSync(path.join(root, ".deploy/lock/info"), "utf8")).to.contain("holder=ci");
  });

  it("breaks a stale lock only when told to", async () => {
    const dead: LockInfo = { token: "gone", holder: "ci", host: "runner", artifact: "x" };
    await run(acquireLockScript(root, dead, false, 3600));
    // Two hours old, on the clock that wrote its "since".
    const info = path.join(root, ".deploy/lock/info");
    const old = new Date(Date.now() - 7200_000).toISOString().replace(/\.\d+Z$/, "Z");
    fs.writeFileSync(info, fs.readFileSync(info, "utf8").replace(/^since=.*$/m, `since=${old}`));
    const refused = await run(acquireLockScript(root, ME, false, 3600));
    expect(refused.blocked).to.match(
      /, 7\d{3}s ago \(stale: older than 3600s\); current was not switched;/,
    );
    const broken = await run(acquireLockScript(root, ME, true, 3600));
    expect(broken.kv.lock).to.equal("acquired-after-break");
    expect(broken.kv.lock_broken).to.match(/^ci@runner since /);
  });

  it("adopts a live plain directory: backed up, moved into releases/, replaced by the symlink", async () => {
    fs.mkdirSync(path.join(root, "current"), { recursive: true });
    fs.writeFileSync(path.join(root, "current/hand-deployed.py"), "x = 1\n");
    const out = await deploy(v1);
    expect(out.code).to.equal(0);
    expect(out.steps.backup.backup).to.match(/-adopted\.tar\.gz$/);
    expect(out.steps.backup.backup_kind).to.equal("archive");
    const adopted = out.steps.promote.previous;
    expect(adopted).to.match(/^adopted-\d{8}T\d{6}Z$/);
    expect(
      fs.readFileSync(path.join(root, "releases", adopted, "hand-deployed.py"), "utf8"),
    ).to.equal("x = 1\n");
    expect(link()).to.equal(`releases/${v1.releaseId}`);
  });

  it("prunes beyond keepReleases, never the live release or the one before it", async () => {
    const ids: string[] = [];
    for (let i = 3; i <= 6; i++) {
      repo.commit(`v${i}`, { "app/version.py": `V = ${i}\n` });
      const a = await artifactOf(repo, repo.head(), work);
      ids.push(a.releaseId);
      await deploy(a);
    }
    expect(fs.readdirSync(path.join(root, "releases")).sort()).to.deep.equal(ids.slice(-3).sort());
    expect(link()).to.equal(`releases/${ids[3]}`);
  });
});
