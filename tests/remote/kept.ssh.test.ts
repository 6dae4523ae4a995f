import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { BuiltArtifact } from "../../gates/artifact/build";
import { parseKept, keptScript } from "../../remote/survey";
import { keyValues } from "../../remote/sh";
import { SshSession } from "../../survey/ssh";
import { sha256Hex } from "../../lib/hash";
import { deployOver, OPERATOR as ME, signedOf, snapshot } from "../helpers/release";
import { tempDir } from "../helpers/repo";
import { releaseSuite } from "../helpers/releaseSuite";

describe("a kept release held to its signed entries list, over SSH to a real sshd", function () {
  this.timeout(60_000);
  const suite = releaseSuite({
    // A symlink and an executable, so that both are in the list.
    prepare: (repo) => {
      fs.symlinkSync("service.py", path.join(repo.dir, "app", "alias.py"));
      fs.writeFileSync(path.join(repo.dir, "run.sh"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
      repo.commit("link and script");
    },
    v2Files: { "app/VERSION": "2\n" },
  });
  let ssh: SshSession;
  let root: string;
  let v1: BuiltArtifact;
  let v2: BuiltArtifact;

  before(() => {
    ({ ssh, v1, v2 } = suite.get());
  });
  beforeEach(async () => {
    root = path.join(tempDir("ssot-root-"), "app");
    for (const a of [v1, v2]) expect((await deployOver(ssh, root, a, ME)).code).to.equal(0);
  });

  const rel = (...p: string[]) => path.join(root, "releases", v1.releaseId, ...p);
  const kept = async () =>
    parseKept((await ssh.run(keptScript(root, v1.releaseId, [], [".env"]))).stdout);
  const rollback = () => deployOver(ssh, root, v1, ME, { kept: signedOf(v1) });
  const current = () => fs.readlinkSync(path.join(root, "current"));

  it("reads a staged release as present, with the digests its build gave the manifest, links file and entries list", async () => {
    const copy = await kept();
    expect(copy).to.deep.include({
      state: "present",
      ...signedOf(v1),
      uncovered: { named: [], count: 0 },
      excluded: { named: [], count: 0 },
    });
  });

  it("names every entry the list does not cover: an extra file, symlink and directory, and a changed exec bit", async () => {
    fs.symlinkSync("/tmp/evil.py", rel("sitecustomize.py"));
    fs.writeFileSync(rel("app", "extra.py"), "X = 1\n");
    fs.mkdirSync(rel("newdir"));
    fs.writeFileSync(rel("newdir", "x"), "x\n");
    fs.chmodSync(rel("app", "service.py"), 0o755);
    const copy = await kept();
    expect(copy.state).to.equal("bad");
    expect(copy.uncovered.named).to.have.members([
      "app/extra.py (file)",
      "app/service.py (executable file)",
      "newdir/ (directory)",
      "newdir/x (file)",
      "sitecustomize.py (symlink)",
      "app/service.py (file), missing",
    ]);
    expect(copy.uncovered.count).to.equal(6);
  });

  it("reports a file under an excluded path apart, as removable, the release still present", async () => {
    fs.mkdirSync(rel("app", "__pycache__"));
    fs.writeFileSync(rel("app", "__pycache__", "x.pyc"), "planted\n");
    const copy = await kept();
    expect(copy.state).to.equal("present");
    expect(copy.excluded).to.deep.equal({ named: ["app/__pycache__"], count: 1 });
  });

  it("switches back under the lock to a release that holds exactly its signed entries", async () => {
    const out = await rollback();
    expect(out.code, out.stdout).to.equal(0);
    expect(out.steps.stage.staged).to.equal("present");
    expect(current()).to.equal(`releases/${v1.releaseId}`);
  });

  it("refuses under the lock a planted symlink, naming it, with current and the release untouched and the lock given back", async () => {
    fs.symlinkSync("/tmp/evil.py", rel("sitecustomize.py"));
    const before = snapshot(root);
    const out = await rollback();
    expect(out.blocked).to.equal(
      `release ${v1.releaseId} on this server holds entries its signed entries list does not cover, or lacks some: sitecustomize.py (symlink); current was not switched; run pulumi preview to see what the servers hold now, and inspect ${path.join(root, "releases", v1.releaseId)} (it is evidence, and is never switched to); or roll back by commit, which tests and builds again: pulumi config set release '' && pulumi config set ref <commit>`,
    );
    expect(current()).to.equal(`releases/${v2.releaseId}`);
    expect(snapshot(root)).to.deep.equal(before);
  });

  it("removes, under the lock and before the switch, what was written under an excluded path, naming it, and prepares the release again", async () => {
    fs.mkdirSync(rel("app", "__pycache__"));
    fs.writeFileSync(rel("app", "__pycache__", "service.cpython-311.pyc"), "planted\n");
    fs.appendFileSync(path.join(root, ".deploy", "prepared"), `${v1.releaseId}\n`);
    const out = await rollback();
    expect(out.code, out.stdout).to.equal(0);
    expect(keyValues(out.stdout).kept_removed).to.equal("app/__pycache__");
    expect(fs.existsSync(rel("app", "__pycache__"))).to.equal(false);
    expect(fs.readFileSync(path.join(root, ".deploy", "prepared"), "utf8")).to.not.contain(
      v1.releaseId,
    );
    expect(current()).to.equal(`releases/${v1.releaseId}`);
  });

  it("leaves what the running app wrote under excluded paths in a kept release that is live already: nothing is switched", async () => {
    expect((await rollback()).code).to.equal(0);
    fs.mkdirSync(rel("app", "__pycache__"));
    fs.writeFileSync(rel("app", "__pycache__", "service.cpython-311.pyc"), "the app's own\n");
    expect(await kept()).to.deep.include({
      live: true,
      excluded: { named: ["app/__pycache__"], count: 1 },
    });
    const out = await rollback();
    expect(out.code, out.stdout).to.equal(0);
    expect(keyValues(out.stdout).kept_removed).to.equal(undefined);
    expect(fs.existsSync(rel("app", "__pycache__", "service.cpython-311.pyc"))).to.equal(true);
  });

  // A deploy by ref builds the release again, and finds it staged: the same entries rule holds.
  const redeploy = () => deployOver(ssh, root, v1, ME);

  it("refuses on a deploy by ref a staged release with a planted symlink, naming it, the releases untouched and the lock given back", async () => {
    fs.symlinkSync("/tmp/evil.py", rel("sitecustomize.py"));
    const before = snapshot(path.join(root, "releases"));
    const out = await redeploy();
    expect(out.blocked).to.equal(
      `release ${v1.releaseId} on the server does not match its manifest (sitecustomize.py (symlink) differs): it was changed after it was staged; current was not switched; inspect ${path.join(root, "releases", v1.releaseId)}, then remove it to stage a verified copy, or pulumi config set acceptDrift true to replace it`,
    );
    expect(current()).to.equal(`releases/${v2.releaseId}`);
    expect(snapshot(path.join(root, "releases"))).to.deep.equal(before);
    expect(fs.existsSync(path.join(root, ".deploy", "lock"))).to.equal(false);
  });

  it("takes on a deploy by ref a staged release whose entries are exactly its build's, removing what was written under an excluded path", async () => {
    fs.mkdirSync(rel("app", "__pycache__"));
    fs.writeFileSync(rel("app", "__pycache__", "x.pyc"), "planted\n");
    const out = await redeploy();
    expect(out.code, out.stdout).to.equal(0);
    expect(out.steps.stage.staged).to.equal("present");
    expect(keyValues(out.stdout).kept_removed).to.equal("app/__pycache__");
    expect(fs.existsSync(rel("app", "__pycache__"))).to.equal(false);
    expect(current()).to.equal(`releases/${v1.releaseId}`);
  });

  // Each file the stage step trusts, changed after the survey read it: the release's tree and
  // the file changed together, so that the tree still matches what the server now holds.
  const swaps: [string, string, () => void][] = [
    [
      "manifest",
      "sha256sums",
      () => {
        fs.appendFileSync(rel("app", "service.py"), "# swapped\n");
        const man = path.join(root, ".deploy", "manifests", `${v1.releaseId}.sha256sums`);
        const sum = sha256Hex(fs.readFileSync(rel("app", "service.py")));
        const text = fs.readFileSync(man, "utf8").replace(/^\S+(?= {2}app\/service\.py$)/m, sum);
        fs.writeFileSync(man, text);
      },
    ],
    [
      "links file",
      "links",
      () => {
        fs.unlinkSync(rel("app", "alias.py"));
        fs.symlinkSync("/tmp/evil.py", rel("app", "alias.py"));
        fs.writeFileSync(
          path.join(root, ".deploy", "manifests", `${v1.releaseId}.links`),
          "app/alias.py\t/tmp/evil.py\n",
        );
      },
    ],
    [
      "entries list",
      "entries",
      () => {
        fs.symlinkSync("/tmp/evil.py", rel("sitecustomize.py"));
        const ent = path.join(root, ".deploy", "manifests", `${v1.releaseId}.entries`);
        const lines = [...fs.readFileSync(ent, "utf8").trim().split("\n"), "l sitecustomize.py"];
        fs.writeFileSync(ent, `${lines.sort().join("\n")}\n`);
      },
    ],
  ];
  for (const [what, ext, swap] of swaps)
    it(`refuses under the lock ${what === "entries list" ? "an" : "a"} ${what} changed after the survey, naming both digests, with current untouched and the lock given back`, async () => {
      swap();
      const file = path.join(root, ".deploy", "manifests", `${v1.releaseId}.${ext}`);
      const got = sha256Hex(fs.readFileSync(file));
      const before = snapshot(root);
      const out = await rollback();
      expect(out.blocked).to.equal(
        `the ${what} of release ${v1.releaseId} on this server (sha256 ${got}) is not the one its signed evidence names (${signedOf(v1)[ext === "sha256sums" ? "manifestSha256" : ext === "links" ? "linksSha256" : "entriesSha256"]}): it changed after the survey read it; current was not switched; run pulumi preview to see what the servers hold now, and inspect ${path.join(root, "releases", v1.releaseId)} (it is evidence, and is never switched to); or roll back by commit, which tests and builds again: pulumi config set release '' && pulumi config set ref <commit>`,
      );
      expect(current()).to.equal(`releases/${v2.releaseId}`);
      expect(fs.existsSync(path.join(root, ".deploy", "lock"))).to.equal(false);
      expect(snapshot(root)).to.deep.equal(before);
    });
});
