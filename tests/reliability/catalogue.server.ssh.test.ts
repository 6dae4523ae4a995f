import { execFileSync } from "node:child_process";
import { TestSshd } from "../../testbed/sshd";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { BuiltArtifact } from "../../gates/artifact/build";
import { expectRunRefused } from "../helpers/catalogue";
import { artifactOf, snapshot } from "../helpers/release";
import { tempDir } from "../helpers/repo";
import { rootOnly } from "../helpers/root";
import { asUnprivilegedUser, deployedSuite, web1Hosts } from "../helpers/stack";

const NOWRITE = "ssot-nowrite";

describe("bad input on the server side: each refused with its exact text, the server left on the old release", function () {
  this.timeout(180_000);
  const suite = deployedSuite();
  let live: BuiltArtifact;
  const up = (over: Record<string, string> = {}) => suite.up(over);
  const host = (over: Record<string, unknown>) => web1Hosts(suite.sshd, over);
  const where = () => `root@127.0.0.1:${suite.sshd.port}`;

  before(async () => {
    live = await artifactOf(suite.repo, suite.v1, path.join(suite.work, "building"));
  });

  /** Runs the program and expects exactly `refusal`, the server byte-for-byte as it was. */
  async function refused(category: string, over: Record<string, string>, refusal: string | RegExp) {
    const before = snapshot(suite.root);
    const run = await up(over);
    expectRunRefused(category, run, refusal, before, snapshot(suite.root));
  }

  it("refuses an unreachable server", async () => {
    await refused(
      "server",
      { hosts: host({ port: 1 }) },
      "server web1: root@127.0.0.1:1 is unreachable: connect ECONNREFUSED 127.0.0.1:1; nothing was changed",
    );
  });

  it("refuses a host key that is not the pinned one", async () => {
    const other = await TestSshd.start();
    await other.stop();
    await refused(
      "server",
      { hosts: host({ hostKey: other.hostKey }) },
      `server web1: the host key of ${where()} is not the pinned hostKey (possible impersonation, or the server was rebuilt); nothing was changed`,
    );
  });

  it("refuses a user key the server does not accept", async () => {
    const dir = tempDir();
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "k")]);
    const key = fs.readFileSync(path.join(dir, "k"), "utf8");
    fs.rmSync(dir, { recursive: true });
    await refused(
      "server",
      { sshPrivateKey: key },
      `server web1: ${where()} refused the configured key for user root; nothing was changed`,
    );
  });

  it("refuses a deploy root the login user cannot write to", async function () {
    rootOnly(this); // it adds a login user
    fs.chmodSync(path.dirname(suite.root), 0o755);
    await asUnprivilegedUser(suite, NOWRITE, () =>
      refused(
        "server",
        { hosts: host({ user: NOWRITE }) },
        `server web1: ${NOWRITE} cannot write to ${suite.root}, which the deploy under ${suite.root} needs; nothing was changed`,
      ),
    );
  });

  it("refuses a deploy root on a disk too small for the release", async function () {
    rootOnly(this); // it mounts a tmpfs
    const small = path.join(suite.work, "small");
    fs.mkdirSync(small, { recursive: true });
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", small]);
    try {
      suite.repo.commit("big", { "data/blob.bin": randomBytes(1 << 20).toString("latin1") });
      const big = await artifactOf(
        suite.repo,
        suite.repo.head(),
        path.join(suite.work, "crafting"),
      );
      const needed = Math.ceil((2 * big.bytes + big.unpackedBytes) * 1.1);
      const before = snapshot(small);
      const run = await up({ deployRoot: path.join(small, "app") });
      expectRunRefused(
        "server",
        run,
        `server web1: 524288 bytes free under ${small}/app, the deploy needs ${needed}; nothing was changed`,
        before,
        snapshot(small),
      );
    } finally {
      execFileSync("umount", [small]);
    }
  });

  it("refuses drift in the live release, naming the file", async () => {
    const file = path.join(suite.root, "current", "app", "service.py");
    const original = fs.readFileSync(file);
    fs.appendFileSync(file, "# hotfix on the server\n");
    try {
      await refused(
        "server",
        {},
        `server web1: the live release ${live.releaseId} differs from its manifest (drift), modified or missing: app/service.py; nothing was changed`,
      );
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  for (const [what, ageSeconds, stale] of [
    ["a lock another deploy holds", 120, ""],
    ["a stale lock, unless told to break it", 7200, " \\(stale: older than 3600s\\)"],
  ] as const) {
    it(`refuses ${what}, naming the holder`, async () => {
      const lock = path.join(suite.root, ".deploy", "lock");
      fs.mkdirSync(lock);
      // The age is read from "since", on the server's clock, as the refusal prints it.
      const since = new Date(Date.now() - ageSeconds * 1000).toISOString().replace(/\.\d+Z$/, "Z");
      fs.writeFileSync(
        path.join(lock, "info"),
        `token=ci\nholder=ci-bot\nhost=runner-7\nsince=${since}\nartifact=abc\n`,
      );
      try {
        // "since" has whole seconds, and the clock ticks on while the survey runs, for up to
        // half a minute on a loaded machine.
        const ages = Array.from({ length: 31 }, (_, i) => ageSeconds + i).join("|");
        await refused(
          "server",
          {},
          new RegExp(
            `^server web1: the deploy lock ${suite.root}/\\.deploy/lock is held by ci-bot on runner-7 since ${since} for artifact abc, (${ages})s ago${stale}; nothing was changed$`,
          ),
        );
      } finally {
        fs.rmSync(lock, { recursive: true });
      }
    });
  }

  it("refuses a current that is neither a symlink nor a directory", async () => {
    const current = path.join(suite.root, "current");
    const target = fs.readlinkSync(current);
    fs.rmSync(current);
    fs.writeFileSync(current, "not a release\n");
    try {
      await refused(
        "server",
        {},
        `server web1: ${suite.root}/current exists but is neither a symlink nor a directory; nothing was changed`,
      );
    } finally {
      fs.rmSync(current);
      fs.symlinkSync(target, current);
    }
  });

  it("refuses a live release whose manifest is gone, since its drift cannot be checked", async () => {
    const manifest = path.join(suite.root, ".deploy", "manifests", `${live.releaseId}.sha256sums`);
    const text = fs.readFileSync(manifest);
    fs.rmSync(manifest);
    try {
      await refused(
        "server",
        {},
        `server web1: the live release ${live.releaseId} has no manifest in ${suite.root}/.deploy/manifests, so drift cannot be checked; nothing was changed`,
      );
    } finally {
      fs.writeFileSync(manifest, text);
    }
  });

  it("refuses to roll back to a staged release that was tampered with", async () => {
    suite.repo.commit("v2", { "app/extra.py": "X = 2\n" });
    const deployed = await up();
    if (deployed.error) throw deployed.error;
    const file = path.join(suite.root, "releases", live.releaseId, "app", "service.py");
    fs.appendFileSync(file, "# changed on the server\n");
    await refused(
      "server",
      { ref: suite.v1 },
      `server web1: release ${live.releaseId} is staged but does not match its manifest (app/service.py differs): it was changed on the server after it was staged; nothing was changed`,
    );
  });
});
