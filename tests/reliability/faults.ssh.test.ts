import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { uploadPaths } from "../../remote/preamble";
import { expectVerified } from "../helpers/attest";
import { refusalOf } from "../helpers/catalogue";
import { acted } from "../../testbed/events";
import { literally, Tripwires } from "../helpers/faults";
import { artifactOf, snapshot } from "../helpers/release";
import { tempDir } from "../helpers/repo";
import { engineStack, sshStackConfig, sshSuite } from "../helpers/stack";

describe("an upload lost between the steps of a deploy, against a real sshd", function () {
  this.timeout(180_000);
  // The lock step's first command, the transaction's first on the server: a foreign lock
  // taken while it is held lands after the upload and before this deploy's lock.
  const wires = new Tripwires(tempDir("ssot-wires-"), ["mkdir"]);
  const suite = sshSuite({ path: wires.path });
  const held = engineStack();
  let config: Record<string, string>;

  before(async () => {
    config = sshStackConfig(suite.repo.dir, suite.work, suite.sshd);
    const v1 = await held.stack.up(config);
    expect(v1.error, v1.error?.message).to.equal(undefined);
  });
  after(() => fs.rmSync(wires.dir, { recursive: true, force: true }));
  afterEach(() => wires.disarm());

  it("names the exact pulumi up --replace, with the URN the engine gives the upload, for an upload lost after it ran, and converges with it", async () => {
    const live = fs.readlinkSync(path.join(suite.root, "current"));
    suite.repo.commit("v2", { "app/extra.py": "X = 2\n" });
    const v2 = await artifactOf(suite.repo, suite.repo.head(), path.join(suite.work, "build"));
    const upload = uploadPaths(suite.root, v2.releaseId).artifact;

    // The upload runs; then, before the transaction takes the lock, another deploy takes it.
    wires.arm("^mkdir -p .*/\\.deploy$");
    const { done } = await held.stack.startUp(config);
    await Promise.race([
      wires.tripped(),
      done.then((r) => {
        throw new Error(`the up ended before its transaction began: ${r.error?.message ?? "ok"}`);
      }),
    ]);
    const lock = path.join(suite.root, ".deploy", "lock");
    const since = new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, "Z");
    fs.mkdirSync(lock);
    fs.writeFileSync(
      path.join(lock, "info"),
      `token=other\nholder=ci\nhost=runner\nsince=${since}\nartifact=y\n`,
    );
    wires.release();
    const locked = await done;
    expect(refusalOf(locked.error)).to.match(
      new RegExp(
        `^the deploy lock ${literally(lock)} is held by ci on runner since ${since} for artifact y, 6\\ds ago; current was not switched; wait for that deploy to finish, or, if it died, pulumi config set breakStaleLock true and run again$`,
      ),
    );
    expect(fs.readlinkSync(path.join(suite.root, "current"))).to.equal(live);

    // The lock goes, and so does the upload (a prune by that other deploy, say).
    fs.rmSync(lock, { recursive: true });
    fs.rmSync(upload);
    const before = snapshot(suite.root);
    const stale = await held.stack.up(config);
    // The upload ran once with these inputs, so the engine does not run it again by itself.
    const step = stale.resources.find((r) => r.name === "web1-release-upload")!;
    expect(step.op).to.equal("same");
    expect(refusalOf(stale.error)).to.equal(
      `artifact ${upload} is not on the server; current was not switched; upload it again: pulumi up --replace '${step.urn}'`,
    );
    expect(snapshot(suite.root)).to.deep.equal(before);

    const replaced = await held.stack.up(config, ["--replace", step.urn]);
    expect(replaced.error, replaced.error?.message).to.equal(undefined);
    expect(acted(replaced)).to.include("replace web1-release-upload");
    expect(fs.readlinkSync(path.join(suite.root, "current"))).to.equal(`releases/${v2.releaseId}`);
    await expectVerified(replaced.outputs!, config);
  });
});
