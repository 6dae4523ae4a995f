import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { CommandLifecycle } from "../../harness/lifecycle";
import { runProgram } from "../../harness/program";
import { TestSshd } from "../../harness/sshd";
import { expectVerified } from "../helpers/attest";
import { REUPLOAD, snapshot } from "../helpers/release";
import { FixtureRepo } from "../helpers/repo";
import { sshStackConfig, sshSuite } from "../helpers/stack";

describe("faults between the steps of a deploy, against a real sshd", function () {
  this.timeout(180_000);
  const suite = sshSuite();
  let sshd: TestSshd;
  let repo: FixtureRepo;
  let work: string;
  let root: string;
  let config: Record<string, string>;
  let lifecycle: CommandLifecycle;

  before(async () => {
    ({ sshd, repo, work } = suite);
    root = path.join(work, "srv", "app");
    config = sshStackConfig(repo.dir, work, sshd);
    lifecycle = new CommandLifecycle();
    const v1 = await runProgram(config, { preview: false, lifecycle });
    expect(v1.error, v1.error?.message).to.equal(undefined);
  });

  it("names the exact replace that uploads again an upload lost after it ran, and converges with it", async () => {
    const live = fs.readlinkSync(path.join(root, "current"));
    repo.commit("v2", { "app/extra.py": "X = 2\n" });
    // The upload runs; then, before the transaction, another deploy takes the lock.
    const lock = path.join(root, ".deploy", "lock");
    lifecycle.before = ({ name }) => {
      if (name !== "web1-deploy") return;
      fs.mkdirSync(lock);
      fs.writeFileSync(
        path.join(lock, "info"),
        "token=other\nholder=ci\nhost=runner\nsince=x\nartifact=y\n",
      );
    };
    const locked = await runProgram(config, { preview: false, lifecycle });
    lifecycle.before = () => undefined;
    expect(locked.error?.message).to.match(/the deploy lock .* is held by ci on runner/);
    expect(fs.readlinkSync(path.join(root, "current"))).to.equal(live);

    // The lock goes, and so does the upload (a prune by that other deploy, say).
    fs.rmSync(lock, { recursive: true });
    const uploads = path.join(root, ".deploy", "uploads");
    for (const f of fs.readdirSync(uploads))
      if (!live.endsWith(f.replace(/\.tar\.gz$/, ""))) fs.rmSync(path.join(uploads, f));
    const before = snapshot(root);
    const stale = await runProgram(config, { preview: false, lifecycle });
    expect(stale.error?.message).to.match(
      new RegExp(
        `artifact \\S+ is not on the server; current was not switched; upload it again: ${REUPLOAD.replace(/[$.*?'()]/g, "\\$&")}`,
      ),
    );
    expect(snapshot(root)).to.deep.equal(before);

    lifecycle.replace = [/'(.*)'/.exec(REUPLOAD)![1]];
    const replaced = await runProgram(config, { preview: false, lifecycle });
    lifecycle.replace = [];
    expect(replaced.error, replaced.error?.message).to.equal(undefined);
    expect(fs.readlinkSync(path.join(root, "current"))).to.equal(
      `releases/${replaced.outputs!.artifact.releaseId}`,
    );
    await expectVerified(replaced.outputs!, config);
  });
});
