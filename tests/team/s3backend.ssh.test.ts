import { expect } from "chai";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { Operator } from "../../testbed/operator";
import { HistoryUpdate } from "../../tools/history";
import { TestS3 } from "../../testbed/s3";
import { signingKeyPair } from "../helpers/attest";
import { sshStackConfig, sshSuite } from "../helpers/stack";

/** The key under which the engine's state marks a special value, and the mark of a secret. */
const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** An object's text; gzipped (the backend may write them so), unzipped first. */
function text(bytes: Buffer): string {
  const gzipped = bytes[0] === 0x1f && bytes[1] === 0x8b;
  return (gzipped ? gunzipSync(bytes) : bytes).toString("latin1");
}

/** Each line of a key's body long enough to be unmistakable, and the key whole. */
function needles(pem: string): string[] {
  const body = pem
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length >= 16 && !l.startsWith("-----"));
  return [pem.trim(), ...body];
}

/** What an update is and how it ended: the file backends number no update (version 0). */
const row = (u: HistoryUpdate) => [u.kind, u.result];

/** Polls `probe` until it gives a value, or fails after `seconds`. */
async function waitFor<T>(what: string, seconds: number, probe: () => Promise<T | undefined>) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const got = await probe();
    if (got !== undefined) return got;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not happen within ${seconds} s`);
}

describe("two operators deploying one stack whose state is on S3-compatible object storage (SeaweedFS on loopback), on the real engine", function () {
  this.timeout(600_000);
  const suite = sshSuite();
  const signer = signingKeyPair();
  const name = `team${randomBytes(3).toString("hex")}`;
  let s3: TestS3;
  let first: Operator;
  let second: Operator;
  /** The stack's settings as one operator runs them: the same server, their own work folder. */
  const cfg = (op: Operator) =>
    sshStackConfig(suite.repo.dir, op.workDir, suite.sshd, {
      deployRoot: suite.root,
      attestationKey: signer.privateKey,
    });
  const live = () => fs.readlinkSync(path.join(suite.root, "current"));
  /** What `current` named after the first operator's first deploy. */
  let v1Release = "";

  before(async () => {
    s3 = await TestS3.start();
    first = await Operator.join(name, s3.backendUrl, s3.clientEnv());
  });
  after(async () => {
    first?.remove();
    second?.remove();
    await s3?.stop();
  });

  it("shows the second operator the first's update in pulumi stack history, and the first the second's: no update is lost", async () => {
    const one = await first.stack.up(cfg(first));
    expect(one.error, one.error?.message).to.equal(undefined);
    v1Release = live();
    // The second checkout holds the settings the first committed: their encryption salt.
    second = await Operator.join(name, s3.backendUrl, s3.clientEnv(), first.stack.encryptionSalt);
    const seen = await second.stack.history();
    expect(seen.map(row)).to.deep.equal([["update", "succeeded"]]);
    expect(seen).to.deep.equal(await first.stack.history());

    suite.repo.commit("v2", { "app/extra.py": "X = 2\n" });
    const two = await second.stack.up(cfg(second));
    expect(two.error, two.error?.message).to.equal(undefined);
    expect(live()).to.not.equal(v1Release);
    expect(live()).to.equal(`releases/${two.outputs!.deploy.web1.releaseId}`);
    // Newest first: the second's update, then the first's, as the second saw it.
    const both = await first.stack.history();
    expect(both.map(row)).to.deep.equal([
      ["update", "succeeded"],
      ["update", "succeeded"],
    ]);
    expect(both[1]).to.deep.equal(seen[0]);
    expect(both).to.deep.equal(await second.stack.history());
    // The state both read is the second's: its outputs name the release it made live.
    const outputs = await first.stack.stack.outputs<{ deploy: { web1: { releaseId: string } } }>();
    expect(outputs.deploy.web1.releaseId).to.equal(two.outputs!.deploy.web1.releaseId);
  });

  it("rolls back, by the first operator, the release the second deployed, to the one it had deployed itself", async () => {
    const before = await first.stack.history();
    const id = v1Release.replace(/^releases\//, "");
    const back = await first.stack.up({ ...cfg(first), release: id });
    expect(back.error, back.error?.message).to.equal(undefined);
    expect(live()).to.equal(v1Release);
    expect(back.outputs!.deploy.web1.releaseId).to.equal(id);
    // The second operator sees the rollback on top of both earlier updates.
    const after = await second.stack.history();
    expect(after.slice(1)).to.deep.equal(before);
    expect(row(after[0])).to.deep.equal(["update", "succeeded"]);
    expect(after[0].config?.["ssot-deploy:release"]?.value).to.equal(id);
  });

  it("refuses an up started while the other operator's runs, with the backend's message naming the lock and what to do, then takes it once that one ended: no update lost", async () => {
    const earlier = await second.stack.history();
    suite.repo.commit("v3", { "app/extra.py": "X = 3\n" });
    const running = await first.stack.startUp(cfg(first));
    // The first up holds the backend's lock: an object under .pulumi/locks/.
    const lock = await waitFor("the first up's lock", 120, async () => {
      const keys = [...(await s3.objects(".pulumi/")).keys()];
      return keys.find((k) => k.startsWith(".pulumi/locks/"));
    });
    const refused = await second.stack.up(cfg(second));
    const done = await running.done;
    expect(done.error, done.error?.message).to.equal(undefined);
    expect(refused.code).to.not.equal(0);
    const said = refused.stdout + refused.stderr;
    expect(said).to.contain(
      "the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end " +
        "or delete the lock file with `pulumi cancel`.",
    );
    expect(said).to.contain(
      `/${lock}?endpoint=http://127.0.0.1:${s3.s3Port}&s3ForcePathStyle=true&region=us-east-1: ` +
        `created by ${os.userInfo().username}@${os.hostname()} (pid ${running.child.pid}) at `,
    );
    // Nothing of the refused up reached the server: the first's release is live.
    expect(live()).to.equal(`releases/${done.outputs!.deploy.web1.releaseId}`);
    // The lock went with the first up, and the second operator's next up runs.
    const again = await second.stack.up(cfg(second));
    expect(again.error, again.error?.message).to.equal(undefined);
    // The refused up left no update behind; the two that ran follow the two kept before.
    const history = await first.stack.history();
    expect(history.map(row)).to.deep.equal(
      Array.from({ length: earlier.length + 2 }, () => ["update", "succeeded"]),
    );
    expect(history.slice(2)).to.deep.equal(earlier);
  });

  it("keeps every secret encrypted in the bucket's objects, as SeaweedFS's own filer serves them", async () => {
    const objects = await s3.objects(".pulumi/");
    const stateKey = [...objects.keys()].find((k) =>
      new RegExp(`^\\.pulumi/stacks/(organization/)?ssot-deploy/${name}\\.json(\\.gz)?$`).test(k),
    );
    expect(stateKey, [...objects.keys()].join("\n")).to.not.equal(undefined);
    // The SSH connection, its private key in it, reached the state as ciphertext: the search
    // below is not vacuous.
    const state = text(objects.get(stateKey!)!);
    expect(state).to.match(new RegExp(`"${SIG}":\\s*"${SECRET_SIG}",\\s*"ciphertext":`));
    // The history and backups the backend keeps are searched too.
    expect([...objects.keys()].some((k) => k.startsWith(".pulumi/history/"))).to.equal(true);
    const leaks: string[] = [];
    for (const needle of [...needles(suite.sshd.userKey.privateKey), ...needles(signer.privateKey)])
      for (const [key, bytes] of objects)
        if (text(bytes).includes(needle)) leaks.push(`${key}: ${needle.slice(0, 12)}…`);
    expect(leaks).to.deep.equal([]);
  });
});
