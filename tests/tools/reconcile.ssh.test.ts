import { expect } from "chai";
import { TestSshd } from "../../testbed/sshd";
import { projectRoot } from "../../lib/paths";
import { expectVerified } from "../helpers/attest";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BlockedError } from "../../gates/gateRun";
import { reconcile, ReconcileOptions } from "../../tools/reconcile/reconcile";
import { refusalOf } from "../helpers/catalogue";
import { ThrowawayStack } from "../../testbed/stack";
import { snapshot } from "../helpers/release";
import { FixtureRepo, PY_APP, PY_TEST_COMMAND, tempDir } from "../helpers/repo";
import { engineStack, sshHost, sshStackConfig, sshSuite } from "../helpers/stack";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const SERVICE = fs.readFileSync(
  path.join(projectRoot(), "examples", "sample-app", "app", "service.py"),
  "utf8",
);
const SERVICE_V2 = `${SERVICE}\n\ndef version():\n    return 2\n`;
const SERVICE_BROKEN = "def run(mode):\n    return 'v2:' + mode\n";

describe("npm run reconcile, against a real sshd", function () {
  this.timeout(180_000);
  const suite = sshSuite();
  const held = engineStack();
  let cfg: Record<string, string>;
  let v1: string;

  const live = (p: string) => path.join(suite.root, "current", p);
  const options = (over: Partial<ReconcileOptions> = {}): ReconcileOptions => ({
    stack: held.stack.name,
    raw: cfg,
    privateKey: suite.sshd.userKey.privateKey,
    now: new Date(Date.UTC(2026, 10, 24, 10, 15, 0)),
    ...over,
  });
  /** Runs reconcile, expecting a refusal, and checks that the server did not change. */
  async function refused(over: Partial<ReconcileOptions> = {}): Promise<BlockedError> {
    const before = snapshot(suite.root);
    const heads = suite.repo.git("for-each-ref", "refs/heads");
    const err = await reconcile(options(over)).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).to.be.instanceOf(BlockedError);
    expect(snapshot(suite.root)).to.deep.equal(before);
    expect(suite.repo.git("for-each-ref", "refs/heads")).to.equal(heads);
    return err as BlockedError;
  }

  before(async () => {
    v1 = suite.repo.head();
    cfg = sshStackConfig(suite.repo.dir, suite.work, suite.sshd);
    const run = await held.stack.up(cfg);
    expect(run.error, run.error?.message).to.equal(undefined);
    await expectVerified(run.outputs!, cfg);
  });

  it("refuses a change set that does not match --expect: a wrong hash, a file too many, a file too few", async () => {
    fs.writeFileSync(live("app/service.py"), SERVICE_V2);
    fs.writeFileSync(live("app/hotfix.py"), "PATCHED = True\n");
    const manifest = path.join(suite.work, "expected.sha256sums");
    const write = (lines: [string, string][]) =>
      fs.writeFileSync(manifest, lines.map(([h, p]) => `${h}  ${p}\n`).join(""));
    try {
      write([
        [sha("something else\n"), "app/service.py"],
        [sha("PATCHED = True\n"), "app/hotfix.py"],
      ]);
      expect((await refused({ expect: manifest })).gap).to.contain(
        `app/service.py: sha256 ${sha(SERVICE_V2).slice(0, 12)} on the server, ${sha("something else\n").slice(0, 12)} expected`,
      );
      write([[sha(SERVICE_V2), "app/service.py"]]);
      expect((await refused({ expect: manifest })).gap).to.contain(
        "app/hotfix.py: added on the server but not in the expected manifest",
      );
      write([
        [sha(SERVICE_V2), "app/service.py"],
        [sha("PATCHED = True\n"), "app/hotfix.py"],
        [sha("x\n"), "app/other.py"],
      ]);
      expect((await refused({ expect: manifest })).gap).to.contain(
        "app/other.py: expected (sha256 " +
          sha("x\n").slice(0, 12) +
          ") but unchanged on the server",
      );
    } finally {
      fs.rmSync(live("app/hotfix.py"));
    }
  });

  it("refuses a secret planted in a changed file, naming file, line and rule but never the secret", async () => {
    const secret = "Sup3rS3cretValue42";
    fs.writeFileSync(live("app/settings.py"), `DEBUG = False\ndb_password = "${secret}"\n`);
    try {
      const err = await refused();
      expect(err.gap).to.match(/app\/settings\.py:2 \(ssot\/password-assignment\)/);
      expect(err.message).to.not.contain(secret);
    } finally {
      fs.rmSync(live("app/settings.py"));
    }
  });

  it("refuses while the SSOT working tree has uncommitted changes to tracked files", async () => {
    const readme = path.join(suite.repo.dir, "README.md");
    const original = fs.readFileSync(readme, "utf8");
    fs.appendFileSync(readme, "local edit\n");
    try {
      const err = await refused();
      expect(err.gap).to.match(/^1 tracked file\(s\) in \S+ have uncommitted changes: README\.md;/);
    } finally {
      fs.writeFileSync(readme, original);
    }
  });

  it("refuses a change set that fails the SSOT's tests (G3), committing nothing", async () => {
    fs.writeFileSync(live("app/service.py"), SERVICE_BROKEN);
    try {
      const err = await refused();
      expect(err.gap).to.match(
        /^the change set from web1:\S+ on [0-9a-f]{12}: tests failed: 0 passed, 3 failed of 3/,
      );
      expect(err.message).to.contain(
        "changed: nothing. The server was only read; the SSOT repo was not changed.",
      );
    } finally {
      fs.writeFileSync(live("app/service.py"), SERVICE_V2);
    }
  });

  it("stops with the seed's gap when the SSOT repo is not on this machine", async () => {
    const missing = path.join(suite.work, "no-such-repo");
    const err = await refused({ raw: { ...cfg, repo: missing } });
    expect(err.gap).to.equal(
      `the SSOT repo ${missing} does not exist on this machine (${os.hostname()}); reconcile must run from the machine that holds the SSOT repo`,
    );
    expect(err.message).to.contain("changed: nothing. No server was contacted");
  });

  it("refuses a changed file replaced by a symlink that leaves the tree, naming the path and its target", async () => {
    const file = live("app/service.py");
    const original = fs.readFileSync(file);
    fs.rmSync(file);
    fs.symlinkSync("../../outside/more.pyi", file);
    try {
      const err = await refused();
      expect(err.gap).to.equal(
        `web1:${fs.realpathSync(path.join(suite.root, "current"))}/app/service.py is a symlink to "../../outside/more.pyi", which points outside the release; ` +
          "the deploy would refuse that commit at G4; the server was only read and the SSOT repo was not changed",
      );
      expect(err.message).to.contain(
        "next action: replace it on the server with the file it points at, or with a link inside the tree (or list the path in sharedFiles), then run again",
      );
    } finally {
      fs.rmSync(file);
      fs.writeFileSync(file, original);
    }
  });

  it("prints a name holding a newline escaped, as the manifests do, in the commit message", async () => {
    const odd = live("app/odd\nname.py");
    fs.writeFileSync(odd, "ODD = 1\n");
    try {
      const r = await reconcile(options({ now: new Date(Date.UTC(2026, 10, 24, 9, 0, 0)) }));
      const message = suite.repo.git("log", "-1", "--format=%B", r.branch!);
      expect(message).to.contain(`A app/odd\\nname.py  sha256 ${sha("ODD = 1\n")}`);
      expect(message).to.not.contain("odd\nname");
      suite.repo.git("branch", "-q", "-D", r.branch!);
    } finally {
      fs.rmSync(odd);
    }
  });

  it("brings edits made on the live tree back as a tested commit on a new branch, and deploying it clears the drift block", async () => {
    fs.writeFileSync(live("app/service.py"), SERVICE_V2);
    fs.writeFileSync(live("app/hotfix.py"), "PATCHED = True\n");
    fs.rmSync(live("README.md"));
    const blocked = await held.stack.preview(cfg);
    expect(blocked.resources).to.deep.equal([]);
    expect(refusalOf(blocked.error)).to.contain("(drift)");

    const before = snapshot(suite.root);
    const checkedOut = suite.repo.git("rev-parse", "HEAD");
    const r = await reconcile(options());
    expect(snapshot(suite.root)).to.deep.equal(before);
    expect(suite.repo.git("rev-parse", "HEAD")).to.equal(checkedOut);
    expect(suite.repo.git("status", "--porcelain", "--untracked-files=no")).to.equal("");

    expect(r.branch).to.match(new RegExp(`^reconcile/${held.stack.name}-\\d{8}T\\d{6}Z$`));
    expect(r.base).to.equal(v1);
    expect(suite.repo.git("diff", "--name-status", `${v1}..${r.branch}`).split("\n")).to.deep.equal(
      ["D\tREADME.md", "A\tapp/hotfix.py", "M\tapp/service.py"],
    );
    expect(suite.repo.git("show", `${r.branch}:app/service.py`) + "\n").to.equal(SERVICE_V2);
    const message = suite.repo.git("log", "-1", "--format=%B", r.branch!);
    expect(message).to.contain(
      `M app/service.py  sha256 ${sha(SERVICE_V2)}  from web1:${fs.realpathSync(path.join(suite.root, "current"))}/app/service.py`,
    );
    expect(message).to.contain(`A app/hotfix.py  sha256 ${sha("PATCHED = True\n")}`);
    expect(message).to.match(/Tests \(G3, in a clean export of this tree\): 3\/3 passed, 0 failed/);

    suite.repo.git("merge", "-q", "--ff-only", r.branch!);
    const up = await held.stack.up(cfg);
    expect(up.error, up.error?.message).to.equal(undefined);
    await expectVerified(up.outputs!, cfg);
    expect(up.outputs!.gates[1].detail).to.contain("drift reconciled");
    expect(up.outputs!.deploy!.web1.backup.kind).to.equal("archive");
    expect(fs.readFileSync(live("app/service.py"), "utf8")).to.equal(SERVICE_V2);
    expect(fs.existsSync(live("README.md"))).to.equal(false);
    expect(up.outputs!.artifact.commit).to.equal(suite.repo.head());
  });
});

describe("the seed's reconcile-deploy, replayed end to end", function () {
  this.timeout(180_000);

  it("takes a verified change set from a staging tree on the server into the SSOT as a tested commit, then deploys it", async () => {
    // Made first: if starting the sshd fails, only a temporary directory is left behind.
    const stack = await ThrowawayStack.create();
    const sshd = await TestSshd.start();
    const modules = Object.fromEntries(
      Array.from({ length: 6 }, (_, i) => [`app/m${i}.py`, `VALUE = ${i}\n`]),
    );
    const repo = FixtureRepo.create({ ...PY_APP, ...modules });
    const work = tempDir();
    try {
      const root = path.join(work, "srv", "app");
      const config = {
        repo: repo.dir,
        testCommand: PY_TEST_COMMAND,
        expectedTests: "3",
        workDir: path.join(work, "local"),
        target: "ssh",
        hosts: JSON.stringify([sshHost("vmi", sshd)]),
        deployRoot: root,
        reportDir: path.join(work, "reports"),
        sharedFiles: JSON.stringify([".env", "kill-switch.json"]),
        sshPrivateKey: sshd.userKey.privateKey,
      };
      const first = await stack.up(config);
      expect(first.error, first.error?.message).to.equal(undefined);
      await expectVerified(first.outputs!, config);

      // The operator's staging tree: a copy of the live release with 7 files changed and 2 new.
      const staging = path.join(work, "srv", "staging");
      fs.cpSync(fs.realpathSync(path.join(root, "current")), staging, {
        recursive: true,
        verbatimSymlinks: true,
      });
      const changed: Record<string, string> = {
        "app/service.py": SERVICE_V2,
        "README.md": "# sample service, v2\n",
        ...Object.fromEntries(Object.keys(modules).map((m, i) => [m, `VALUE = ${i + 100}\n`])),
        "app/limits.py": "MAX_ORDERS = 5\n",
        "app/audit.py": "def log(event):\n    return event\n",
      };
      delete changed["app/m5.py"];
      for (const [p, text] of Object.entries(changed))
        fs.writeFileSync(path.join(staging, p), text);
      const expected = path.join(work, "staging.sha256sums");
      fs.writeFileSync(
        expected,
        Object.entries(changed)
          .map(([p, text]) => `${sha(text)}  ${p}\n`)
          .join(""),
      );
      expect(Object.keys(changed)).to.have.length(9);

      const keyFile = path.join(work, "key");
      fs.writeFileSync(keyFile, sshd.userKey.privateKey, { mode: 0o600 });
      const before = snapshot(path.join(work, "srv"));
      const out = execFileSync(
        "node",
        [
          path.join(projectRoot(), "dist", "scripts", "reconcile.js"),
          // The settings the up ran with, as the CLI wrote them: sshPrivateKey there is encrypted.
          "--stack",
          stack.name,
          "--config-file",
          stack.configFile,
          "--key",
          keyFile,
          "--from",
          staging,
          "--expect",
          expected,
        ],
        { encoding: "utf8" },
      );
      expect(snapshot(path.join(work, "srv"))).to.deep.equal(before);
      const branch = /^RESULT: RECONCILED into branch (\S+) at ([0-9a-f]{40})/m.exec(out);
      expect(branch, out).to.not.equal(null);
      expect(out).to.match(
        /^G1 change-set survey\s+PASS\s+base [0-9a-f]{12} \(the live release \S+\) -> vmi:\S+: 7 modified, 2 added, 0 deleted;/m,
      );
      expect(out).to.contain("tests: 3/3 passed, 0 failed, 0 skipped (unittest)");
      expect(out).to.contain(
        `next action: review it (git -C ${repo.dir} show ${branch![1]}), merge it into the mainline, then pulumi preview and pulumi up`,
      );

      repo.git("merge", "-q", "--ff-only", branch![1]);
      const up = await stack.up(config);
      expect(up.error, up.error?.message).to.equal(undefined);
      await expectVerified(up.outputs!, config);
      expect(up.outputs!.artifact.commit).to.equal(branch![2]);
      expect(up.outputs!.changeSet.modified.map((f) => f.path).sort()).to.have.length(7);
      for (const [p, text] of Object.entries(changed))
        expect(fs.readFileSync(path.join(root, "current", p), "utf8")).to.equal(text);
      expect(up.outputs!.deploy!.vmi.killSwitch).to.deep.equal({
        declared: false,
        readBack: false,
      });
    } finally {
      stack.remove();
      await sshd.stop();
      repo.remove();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
