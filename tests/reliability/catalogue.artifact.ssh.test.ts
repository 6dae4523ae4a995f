import * as fs from "node:fs";
import { createHash } from "node:crypto";
import * as path from "node:path";
import { BuiltArtifact } from "../../gates/artifact/build";
import { uploadPaths } from "../../remote/preamble";
import { SshSession } from "../../survey/ssh";
import { expectRefused, expectRunRefused, snapshotBesideUploads } from "../helpers/catalogue";
import { craftArtifact, CraftedEntry } from "../helpers/crafted";
import { Tripwires } from "../helpers/faults";
import { artifactOf, deployOver, snapshot } from "../helpers/release";
import { tempDir } from "../helpers/repo";
import { engineStack, sshStackConfig, sshSuite } from "../helpers/stack";

const CRAFTER = { token: "crafter@bench:/x:test", holder: "crafter", host: "bench", artifact: "" };

describe("bad artifacts: each refused with its exact text, the server left on the old release", function () {
  this.timeout(180_000);
  // The transaction's first command on the server, held so that a test can act between the
  // upload and the transaction.
  const wires = new Tripwires(tempDir("ssot-wires-"), ["mkdir"]);
  const suite = sshSuite({ path: wires.path });
  const held = engineStack();
  let v1: string;
  let live: BuiltArtifact;
  let ssh: SshSession;
  const config = (over: Record<string, string> = {}) =>
    sshStackConfig(suite.repo.dir, suite.work, suite.sshd, over);
  const up = (over: Record<string, string> = {}) => held.stack.up(config(over));

  before(async () => {
    v1 = suite.repo.head();
    const first = await up();
    if (first.error) throw first.error;
    live = await artifactOf(suite.repo, v1, path.join(suite.work, "crafting"));
    ssh = await SshSession.connect(suite.sshd.target());
  });
  after(() => {
    ssh?.close();
    fs.rmSync(wires.dir, { recursive: true, force: true });
  });
  afterEach(() => {
    wires.disarm();
    suite.repo.git("reset", "-q", "--hard", v1);
  });

  /** Runs the program and expects exactly `refusal`, the server byte-for-byte as it was. */
  async function refused(over: Record<string, string>, refusal: string) {
    const before = snapshot(suite.root);
    const run = await up(over);
    expectRunRefused("artifact", run, refusal, before, snapshot(suite.root));
  }

  it("refuses a committed symlink that points outside the release, before anything runs", async () => {
    fs.symlinkSync("../../../etc/passwd", path.join(suite.repo.dir, "app", "leak"));
    const commit = suite.repo.commit("leak");
    await refused(
      {},
      `commit ${commit.slice(0, 12)} holds a symlink that points outside the release: app/leak -> ../../../etc/passwd`,
    );
  });

  it("refuses an upload corrupted on its way, before extracting anything", async () => {
    suite.repo.commit("v2", { "app/extra.py": "X = 2\n" });
    const v2 = await artifactOf(suite.repo, suite.repo.head(), path.join(suite.work, "crafting"));
    const upload = uploadPaths(suite.root, v2.releaseId).artifact;
    const before = snapshotBesideUploads(suite.root);
    // Held as the transaction starts, once the upload has landed, while a byte is added.
    wires.arm("^mkdir -p .*/\\.deploy$");
    const { done } = await held.stack.startUp(config());
    await Promise.race([
      wires.tripped(),
      done.then((r) => {
        throw new Error(`the up ended before its transaction began: ${r.error?.message ?? "ok"}`);
      }),
    ]);
    fs.appendFileSync(upload, "x");
    wires.release();
    const run = await done;
    const corrupted = createHash("sha256").update(fs.readFileSync(upload)).digest("hex");
    // The URN is the engine's own, as its event log names the upload.
    const urn = run.resources.find((r) => r.name === "web1-release-upload")?.urn;
    expectRunRefused(
      "artifact",
      run,
      `uploaded artifact ${upload} has sha256 ${corrupted}, not ${v2.sha256} (a corrupted upload); current was not switched; upload it again: pulumi up --replace '${urn}'`,
      before,
      snapshotBesideUploads(suite.root),
    );
  });

  // Archives no build of this project produces, with a checksum that holds: the stage step's
  // own checks are all that stand in their way.
  const crafted: [
    string,
    string,
    { add?: CraftedEntry[]; replace?: Record<string, string> },
    string,
  ][] = [
    [
      "a member that climbs out with ..",
      "slip",
      { add: [{ name: "../evil.txt", type: "file", text: "x\n" }] },
      "the artifact holds a path that leaves the release: ../evil.txt",
    ],
    [
      "a member with an absolute path",
      "absolute",
      { add: [{ name: "/etc/evil.txt", type: "file", text: "x\n" }] },
      "the artifact holds a path that leaves the release: a name starting with `/'",
    ],
    [
      "a device file",
      "device",
      { add: [{ name: "dev/null0", type: "chardev" }] },
      "the artifact holds a special file: dev/null0",
    ],
    [
      "a symlink that points outside the release",
      "symlink",
      { add: [{ name: "app/leak", type: "symlink", target: "../../../../etc/passwd" }] },
      "symlink app/leak points outside the release",
    ],
    [
      "files that do not match the manifest",
      "mismatch",
      { replace: { "app/service.py": "print('not what was tested')\n" } },
      "extracted files do not match the manifest",
    ],
  ];
  for (const [what, id, change, refusal] of crafted) {
    it(`refuses an archive holding ${what}, leaving no trace of it`, async () => {
      const a = craftArtifact(live, path.join(suite.work, "crafting"), `crafted-${id}`, change);
      const before = snapshotBesideUploads(suite.root);
      const out = await deployOver(ssh, suite.root, a, CRAFTER);
      expectRefused(
        "artifact",
        out.blocked,
        `${refusal} (release crafted-${id}); current was not switched`,
        before,
        snapshotBesideUploads(suite.root),
      );
      fs.rmSync(uploadPaths(suite.root, a.releaseId).artifact);
    });
  }
});
