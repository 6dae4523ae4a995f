import { expect } from "chai";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { BuiltArtifact } from "../components/artifactBuild";
import { backupScript, promoteScript } from "../components/promoteScripts";
import {
  acquireLockScript,
  LockInfo,
  releaseLockScript,
  stageScript,
} from "../components/releaseScripts";
import { blockedLine, keyValues } from "../components/sh";
import { SshSession } from "../components/ssh";
import { artifactOf, manifestsOf, snapshot, upload } from "./helpers/release";
import { FixtureRepo, tempDir } from "./helpers/repo";
import { TestSshd } from "../harness/sshd";

const ME: LockInfo = {
  token: "op@laptop:/work/deploy:contabo",
  holder: "op",
  host: "laptop",
  artifact: "",
};

describe("the release scripts, over SSH to a real sshd", function () {
  this.timeout(60_000);
  let sshd: TestSshd;
  let ssh: SshSession;
  let repo: FixtureRepo;
  let work: string;
  let root: string;
  let v1: BuiltArtifact;
  let v2: BuiltArtifact;

  before(async () => {
    sshd = await TestSshd.start();
    ssh = await SshSession.connect(sshd.target());
    repo = FixtureRepo.create();
    work = tempDir();
    v1 = await artifactOf(repo, repo.head(), work);
    repo.commit("v2", { "app/service.py": "def run(mode):\n    return 'v2:' + mode\n" });
    v2 = await artifactOf(repo, repo.head(), work);
  });
  after(async () => {
    ssh.close();
    await sshd.stop();
    repo.remove();
    fs.rmSync(work, { recursive: true, force: true });
  });
  beforeEach(() => {
    root = path.join(tempDir("ssot-root-"), "app");
  });

  async function run(text: string) {
    const r = await ssh.run(text);
    return { ...r, kv: keyValues(r.stdout), blocked: blockedLine(r.stdout) };
  }

  async function deploy(a: BuiltArtifact, info: LockInfo = ME) {
    await upload(ssh, root, a);
    const steps = [
      acquireLockScript(root, { ...info, artifact: a.sha256 }, false, 3600),
      stageScript({
        root,
        ...manifestsOf(a),
        releaseId: a.releaseId,
        sha256: a.sha256,
        sharedFiles: [".env"],
        lockToken: info.token,
      }),
      backupScript(root, a.releaseId, 3, info.token),
      promoteScript({
        root,
        releaseId: a.releaseId,
        commit: a.commit,
        sha256: a.sha256,
        who: "op",
        host: "laptop",
        keepReleases: 3,
        lockToken: info.token,
      }),
      releaseLockScript(root, info.token, a.releaseId),
    ];
    const out: Awaited<ReturnType<typeof run>>[] = [];
    for (const s of steps) {
      const r = await run(s);
      out.push(r);
      if (r.code !== 0) break;
    }
    return out;
  }

  const link = () => fs.readlinkSync(path.join(root, "current"));
  const revisions = () =>
    fs.readFileSync(path.join(root, ".deploy/revisions.jsonl"), "utf8").trim().split("\n");

  it("deploys a first release side by side and points current at it", async () => {
    const out = await deploy(v1);
    expect(out.map((r) => r.code)).to.deep.equal([0, 0, 0, 0, 0]);
    expect(out[1].kv.staged).to.equal("new");
    expect(out[2].kv.backup).to.equal("none");
    expect(link()).to.equal(`releases/${v1.releaseId}`);
    expect(fs.readFileSync(path.join(root, "current/app/service.py"), "utf8")).to.equal(
      fs.readFileSync(path.join(__dirname, "../../examples/sample-app/app/service.py"), "utf8"),
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

  it("backs up the live tree before switching, and chains the revisions log", async () => {
    await deploy(v1);
    const out = await deploy(v2);
    const backup = out[2].kv.backup;
    expect(backup).to.match(new RegExp(`/backups/\\d{8}T\\d{6}Z-${v1.releaseId}\\.tar\\.gz$`));
    expect(createHash("sha256").update(fs.readFileSync(backup)).digest("hex")).to.equal(
      out[2].kv.backup_sha256,
    );
    expect(link()).to.equal(`releases/${v2.releaseId}`);
    const [first, second] = revisions();
    expect(JSON.parse(second)).to.deep.include({
      releaseId: v2.releaseId,
      previous: v1.releaseId,
      prevHash: createHash("sha256").update(`${first}\n`).digest("hex"),
    });
  });

  it("treats a release already staged and verified as present, with no upload needed", async () => {
    await deploy(v1);
    fs.rmSync(path.join(root, `.deploy/uploads/${v1.releaseId}.tar.gz`));
    const r = await run(acquireLockScript(root, ME, false, 3600));
    const staged = await run(
      stageScript({
        root,
        ...manifestsOf(v1),
        releaseId: v1.releaseId,
        sha256: v1.sha256,
        sharedFiles: [".env"],
        lockToken: ME.token,
      }),
    );
    expect([r.kv.lock, staged.kv.staged]).to.deep.equal(["acquired", "present"]);
  });

  it("rolls back to a staged release by moving only the symlink", async () => {
    await deploy(v1);
    await deploy(v2);
    const before = snapshot(path.join(root, "releases"));
    const out = await deploy(v1);
    expect(out[1].kv.staged).to.equal("present");
    expect(link()).to.equal(`releases/${v1.releaseId}`);
    expect(snapshot(path.join(root, "releases"))).to.deep.equal(before);
  });

  it("refuses to switch to a release that was tampered with, and leaves current alone", async () => {
    await deploy(v1);
    await deploy(v2);
    fs.appendFileSync(
      path.join(root, `releases/${v1.releaseId}/app/service.py`),
      "# edited on the server\n",
    );
    const r = await run(acquireLockScript(root, ME, false, 3600));
    expect(r.code).to.equal(0);
    const promoted = await run(
      promoteScript({
        root,
        releaseId: v1.releaseId,
        commit: v1.commit,
        sha256: v1.sha256,
        who: "op",
        host: "laptop",
        keepReleases: 3,
        lockToken: ME.token,
      }),
    );
    expect(promoted.code).to.equal(3);
    expect(promoted.blocked).to.equal(
      `release ${v1.releaseId} does not match its manifest (tampered or incomplete); refusing to switch current to it; nothing was changed; run pulumi up again to stage it afresh`,
    );
    expect(link()).to.equal(`releases/${v2.releaseId}`);
  });

  it("refuses a corrupted upload before extracting anything", async () => {
    await upload(ssh, root, v1);
    fs.appendFileSync(path.join(root, `.deploy/uploads/${v1.releaseId}.tar.gz`), "x");
    await run(acquireLockScript(root, ME, false, 3600));
    const before = snapshot(path.join(root, "releases"));
    const r = await run(
      stageScript({
        root,
        ...manifestsOf(v1),
        releaseId: v1.releaseId,
        sha256: v1.sha256,
        sharedFiles: [],
        lockToken: ME.token,
      }),
    );
    expect(r.blocked).to.equal(
      `uploaded artifact ${root}/.deploy/uploads/${v1.releaseId}.tar.gz does not match sha256 ${v1.sha256} (a corrupted upload); nothing was changed; run pulumi up again to upload it again`,
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
        `^the deploy lock ${root}/\\.deploy/lock is held by ci on runner since \\S+Z for artifact ${v2.sha256}, \\d+s ago; nothing was changed; ` +
          "wait for that deploy to finish, or, if it died, pulumi config set breakStaleLock true and run again$",
      ),
    );
    const stage = await run(
      stageScript({
        root,
        ...manifestsOf(v1),
        releaseId: v1.releaseId,
        sha256: v1.sha256,
        sharedFiles: [],
        lockToken: ME.token,
      }),
    );
    expect(stage.blocked).to.equal(
      `the deploy lock ${root}/.deploy/lock is not held by this deploy; nothing was changed; run pulumi up again`,
    );
    expect((await run(releaseLockScript(root, ME.token, v1.releaseId))).kv.lock).to.equal(
      "not-held",
    );
    expect(fs.readFileSync(path.join(root, ".deploy/lock/info"), "utf8")).to.contain("holder=ci");
  });

  it("breaks a stale lock only when told to", async () => {
    const dead: LockInfo = { token: "gone", holder: "ci", host: "runner", artifact: "x" };
    await run(acquireLockScript(root, dead, false, 3600));
    const old = new Date(Date.now() - 7200_000);
    fs.utimesSync(path.join(root, ".deploy/lock"), old, old);
    const refused = await run(acquireLockScript(root, ME, false, 3600));
    expect(refused.blocked).to.match(
      /, 7\d{3}s ago \(stale: older than 3600s\); nothing was changed;/,
    );
    const broken = await run(acquireLockScript(root, ME, true, 3600));
    expect(broken.kv.lock).to.equal("acquired-after-break");
    expect(broken.kv.lock_broken).to.match(/^ci@runner since /);
  });

  it("adopts a live plain directory: backed up, moved into releases/, replaced by the symlink", async () => {
    fs.mkdirSync(path.join(root, "current"), { recursive: true });
    fs.writeFileSync(path.join(root, "current/hand-deployed.py"), "x = 1\n");
    const out = await deploy(v1);
    expect(out.map((r) => r.code)).to.deep.equal([0, 0, 0, 0, 0]);
    expect(out[2].kv.backup).to.match(/-adopted\.tar\.gz$/);
    const adopted = out[3].kv.previous;
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
