import { expect } from "chai";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { BuiltArtifact } from "../../gates/artifact/build";
import { parseDeployConfig } from "../../config/deploy";
import { ExcludeFilter } from "../../gates/artifact/excludes";
import { acquireLockScript } from "../../remote/lock";
import { SshRunner } from "../../survey/runner";
import { connectionFailure, diskFailure, judgeSurvey, SurveyContext } from "../../survey/judge";
import { SshError, SshSession } from "../../survey/ssh";
import { parseSurvey, parseTarget, surveyScript, targetScript } from "../../remote/survey";
import { artifactOf, deployOver, snapshot } from "../helpers/release";
import { FixtureRepo, tempDir } from "../helpers/repo";
import { TestSshd } from "../../testbed/sshd";

describe("the server survey (G0 on the server), over SSH", function () {
  this.timeout(60_000);
  let sshd: TestSshd;
  let runner: SshRunner;
  let repo: FixtureRepo;
  let work: string;
  let root: string;
  let v1: BuiltArtifact;
  const token = "op@laptop:/deploy:test";
  const ctx = (over: Record<string, string> = {}): SurveyContext => ({
    hostName: "web1",
    where: runner.where,
    stack: "test",
    lockToken: token,
    ignored: (p) => new ExcludeFilter().excludes(p),
    deploy: parseDeployConfig({
      target: "ssh",
      deployRoot: root,
      hosts: JSON.stringify([
        { name: "web1", host: "127.0.0.1", port: sshd.port, user: "root", hostKey: sshd.hostKey },
      ]),
      ...over,
    }),
  });
  const target = async () =>
    parseTarget((await runner.run(targetScript(root, v1.releaseId))).stdout).state;
  const survey = async () =>
    parseSurvey(
      (
        await runner.run(
          surveyScript(root, "kill-switch.json", [{ name: "rows", command: "cat rows.txt" }]),
        )
      ).stdout,
      1,
    );

  before(async () => {
    sshd = await TestSshd.start();
    runner = await SshRunner.open(sshd.target());
    repo = FixtureRepo.create();
    work = tempDir();
    v1 = await artifactOf(repo, repo.head(), work);
  });
  after(async () => {
    runner.close();
    await sshd.stop();
    repo.remove();
  });
  beforeEach(async () => {
    root = path.join(tempDir("ssot-root-"), "app");
  });

  async function deployV1() {
    const ssh = await SshSession.connect(sshd.target());
    const out = await deployOver(
      ssh,
      root,
      v1,
      { token, holder: "op", host: "laptop", artifact: "" },
      { sharedFiles: [] },
    );
    ssh.close();
    expect(out.code).to.equal(0);
  }

  it("finds nothing live on a fresh server and passes", async () => {
    const s = await survey();
    expect(s).to.deep.include({
      layout: "absent",
      lock: undefined,
      drift: undefined,
    });
    expect(await target()).to.equal("absent");
    expect(judgeSurvey(s, ctx())).to.deep.equal({
      detail: `server web1 (${runner.where}): nothing live; no drift; no lock; ${Math.floor(s.diskFreeBytes / 1048576)} MiB free; kill-switch execution_enabled=absent`,
    });
  });

  it("reads the live release, its commit, the kill-switch and the invariants, and changes nothing", async () => {
    await deployV1();
    fs.writeFileSync(path.join(root, "shared/rows.txt"), "42");
    fs.symlinkSync(
      path.join(root, "shared/rows.txt"),
      path.join(root, `releases/${v1.releaseId}/rows.txt`),
    );
    const before = snapshot(root);
    const s = await survey();
    expect(await target()).to.equal("present");
    expect(snapshot(root)).to.deep.equal(before);
    expect(s).to.deep.include({
      layout: "symlink",
      live: v1.releaseId,
      liveCommit: v1.commit,
    });
    expect(s.drift).to.deep.equal({ modified: [], added: [], sha256: {} });
    expect(s.invariants).to.deep.equal(["42"]);
    expect(s.killSwitchText).to.equal('{"execution_enabled":false}\n');
    expect((judgeSurvey(s, ctx()) as { detail: string }).detail).to.contain(
      `live ${v1.releaseId} (commit ${v1.commit.slice(0, 12)}); no drift; no lock;`,
    );
  });

  it("blocks on drift, naming the files and the reconcile command", async () => {
    await deployV1();
    fs.appendFileSync(path.join(root, "current/app/service.py"), "# hotfix\n");
    fs.writeFileSync(path.join(root, "current/app/hotfix.py"), "x = 1\n");
    // Written by the running app, never shipped: not drift.
    fs.mkdirSync(path.join(root, "current/app/__pycache__"));
    fs.writeFileSync(
      path.join(root, "current/app/__pycache__/service.cpython-311.pyc"),
      "bytecode",
    );
    fs.rmSync(path.join(root, "current/README.md"));
    const s = await survey();
    const hash = (f: string) =>
      createHash("sha256")
        .update(fs.readFileSync(path.join(root, "current", f)))
        .digest("hex");
    // Each drifted file that exists is hashed as it is now; the missing one has no hash.
    expect(s.drift?.sha256).to.deep.equal({
      "app/service.py": hash("app/service.py"),
      "app/hotfix.py": hash("app/hotfix.py"),
      "app/__pycache__/service.cpython-311.pyc": hash("app/__pycache__/service.cpython-311.pyc"),
    });
    expect(judgeSurvey(s, ctx())).to.deep.equal({
      gap: `server web1: the live release ${v1.releaseId} differs from its manifest (drift), modified or missing: README.md, app/service.py; added: app/hotfix.py; nothing was changed`,
      next: `bring those changes into the SSOT repo first: npm run reconcile -- --stack test --from ${root}/current, review and merge, then pulumi up; or, to replace them after a backup: pulumi config set acceptDrift true`,
    });
    expect("detail" in judgeSurvey(s, ctx({ acceptDrift: "true" }))).to.equal(true);
  });

  it("blocks on a lock held by another deploy, and lets ours re-enter", async () => {
    await runner.run(
      acquireLockScript(
        root,
        { token: "ci", holder: "ci", host: "runner", artifact: "abc" },
        false,
        3600,
      ),
    );
    const s = await survey();
    const judged = judgeSurvey(s, ctx());
    expect("gap" in judged && judged.gap).to.match(
      new RegExp(
        `^server web1: the deploy lock ${root}/\\.deploy/lock is held by ci on runner since \\S+ for artifact abc, \\d+s ago; nothing was changed$`,
      ),
    );
    expect("detail" in judgeSurvey(s, { ...ctx(), lockToken: "ci" })).to.equal(true);
  });

  it("blocks when the disk has too little room for the release", async () => {
    const s = await survey();
    expect(diskFailure(s, ctx(), 1000, 1000)).to.equal(undefined);
    expect(diskFailure(s, ctx(), s.diskFreeBytes, 0)?.gap).to.equal(
      `server web1: ${s.diskFreeBytes} bytes free under ${root}, the deploy needs ${Math.ceil(2 * s.diskFreeBytes * 1.1)}; nothing was changed`,
    );
  });

  it("reports a live plain directory for adoption", async () => {
    fs.mkdirSync(path.join(root, "current"), { recursive: true });
    const s = await survey();
    expect(s.layout).to.equal("directory");
    expect((judgeSurvey(s, ctx()) as { detail: string }).detail).to.contain(
      "a plain directory live (it will be backed up and adopted)",
    );
  });

  const wrongKey = () => fs.readFileSync(path.join(sshd.dir, "host_ed25519"), "utf8");
  const otherHostKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB6Y4sQ/1E8uGNXv2S6m0K6vPZ6yJv0Xw7n5d0H0kS6F";
  for (const [what, override, kind] of [
    [
      "refuses a host key that is not the pinned one",
      () => ({ hostKey: otherHostKey }),
      "host-key",
    ],
    ["refuses a key the server does not accept", () => ({ privateKey: wrongKey() }), "auth"],
    ["reports a server that does not answer", () => ({ port: 1 }), "unreachable"],
  ] as const) {
    it(what, async () => {
      let err: unknown;
      try {
        await SshRunner.open(sshd.target(override()));
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(SshError);
      expect((err as SshError).kind).to.equal(kind);
      expect(connectionFailure("web1", 0, err as SshError).gap).to.match(
        /^server web1: .*; nothing was changed$/,
      );
    });
  }
});
