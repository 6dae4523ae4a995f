import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { BuiltArtifact } from "../../gates/artifact/build";
import { Probe } from "../../config/deploy";
import { releaseLockScript } from "../../remote/lock";
import { SshSession } from "../../survey/ssh";
import { artifactOf, deployOver, OPERATOR as ME } from "../helpers/release";
import { sshSuite } from "../helpers/stack";

// A live probe: it fails after the switch, so the release is switched to and then not proved;
// kept live (onLiveFailure keep), so that the next deploy switches away from a failed release.
const FAILS: Probe[] = [
  { name: "health", command: "false", expectExit: 0, when: "live", timeoutSeconds: 60 },
];

describe("retention with failed and good releases mixed, over SSH to a real sshd", function () {
  this.timeout(120_000);
  const suite = sshSuite();
  let ssh: SshSession;
  const built: BuiltArtifact[] = [];

  before(async () => {
    const { sshd, repo, work } = suite;
    ssh = await SshSession.connect(sshd.target());
    for (let i = 0; i < 6; i++) {
      repo.commit(`r${i}`, { "app/version.py": `V = ${i}\n` });
      built.push(await artifactOf(repo, repo.head(), work));
    }
  });
  after(() => ssh?.close());

  const releases = () => fs.readdirSync(path.join(suite.root, "releases")).sort();
  const live = () => path.basename(fs.readlinkSync(path.join(suite.root, "current")));

  it("keeps the good releases a rollback needs however many failed ones came after them", async () => {
    const [good1, good2, failed1, neverSwitched, failed2, good3] = built;
    const keepReleases = 2;
    for (const a of [good1, good2])
      expect((await deployOver(ssh, suite.root, a, ME, { keepReleases })).code).to.equal(0);
    // Switched to, then its proof failed: it stays live until the next deploy.
    const keep = { keepReleases, probes: FAILS, onLiveFailure: "keep" as const };
    const f1 = await deployOver(ssh, suite.root, failed1, ME, keep);
    expect([f1.code, f1.blocked]).to.deep.equal([
      3,
      `probe health exited 1 in the live release, expected 0; current was switched and stays on ${failed1.releaseId} (onLiveFailure is keep); ` +
        "the lock is kept until a deploy proves its release; fix the release in the SSOT repo, commit, then run pulumi up, " +
        `or roll back: pulumi config set release ${good2.releaseId}, then pulumi up`,
    ]);
    // Staged, never switched to: its deploy stopped after staging, the lock still held.
    const staged = await deployOver(ssh, suite.root, neverSwitched, ME, {
      keepReleases,
      stopAfter: "stage",
    });
    expect([staged.code, staged.steps.stage.staged]).to.deep.equal([0, "new"]);
    expect(releases()).to.include(neverSwitched.releaseId);
    const f2 = await deployOver(ssh, suite.root, failed2, ME, keep);
    expect(f2.code).to.equal(3);
    const pruned = (o: { stdout: string }) => o.stdout.match(/^pruned=.*$/gm)?.sort();
    // Two failed releases came after good2: it is still the one good release kept, beside the
    // live one and the one before it. The never-switched one is gone.
    expect(releases()).to.deep.equal(
      [failed2.releaseId, failed1.releaseId, good2.releaseId].sort(),
    );
    expect(pruned(f2)).to.deep.equal([`pruned=${neverSwitched.releaseId}`]);

    const out = await deployOver(ssh, suite.root, good3, ME, { keepReleases });
    expect(out.code).to.equal(0);
    expect(live()).to.equal(good3.releaseId);
    expect(releases()).to.deep.equal([good3.releaseId, failed2.releaseId, good2.releaseId].sort());
    expect(pruned(out)).to.deep.equal([`pruned=${failed1.releaseId}`]);
    await ssh.run(releaseLockScript(suite.root, ME.token, good3.releaseId));
  });
});
