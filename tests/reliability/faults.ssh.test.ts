import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { CommandLifecycle } from "../../harness/lifecycle";
import { runProgram } from "../../harness/program";
import { expectVerified } from "../helpers/attest";
import { REUPLOAD, snapshot } from "../helpers/release";
import { sshStackConfig, sshSuite } from "../helpers/stack";

describe("faults between the steps of a deploy, against a real sshd", function () {
  this.timeout(180_000);
  const suite = sshSuite();
  let config: Record<string, string>;
  let lifecycle: CommandLifecycle;

  before(async () => {
    config = sshStackConfig(suite.repo.dir, suite.work, suite.sshd);
    lifecycle = new CommandLifecycle();
    const v1 = await runProgram(config, { preview: false, lifecycle });
    expect(v1.error, v1.error?.message).to.equal(undefined);
  });

  it("names the exact replace that uploads again an upload lost after it ran, and converges with it", async () => {
    const live = fs.readlinkSync(path.join(suite.root, "current"));
    suite.repo.commit("v2", { "app/extra.py": "X = 2\n" });
    // The upload runs; then, before the transaction, another deploy takes the lock.
    const lock = path.join(suite.root, ".deploy", "lock");
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
    expect(fs.readlinkSync(path.join(suite.root, "current"))).to.equal(live);

    // The lock goes, and so does the upload (a prune by that other deploy, say).
    fs.rmSync(lock, { recursive: true });
    const uploads = path.join(suite.root, ".deploy", "uploads");
    for (const f of fs.readdirSync(uploads))
      if (!live.endsWith(f.replace(/\.tar\.gz$/, ""))) fs.rmSync(path.join(uploads, f));
    const before = snapshot(suite.root);
    const stale = await runProgram(config, { preview: false, lifecycle });
    expect(stale.error?.message).to.match(
      new RegExp(
        `artifact \\S+ is not on the server; current was not switched; upload it again: ${REUPLOAD.replace(/[$.*?'()]/g, "\\$&")}`,
      ),
    );
    expect(snapshot(suite.root)).to.deep.equal(before);

    lifecycle.replace = [/'(.*)'/.exec(REUPLOAD)![1]];
    const replaced = await runProgram(config, { preview: false, lifecycle });
    lifecycle.replace = [];
    expect(replaced.error, replaced.error?.message).to.equal(undefined);
    expect(fs.readlinkSync(path.join(suite.root, "current"))).to.equal(
      `releases/${replaced.outputs!.artifact.releaseId}`,
    );
    await expectVerified(replaced.outputs!, config);
  });
});
