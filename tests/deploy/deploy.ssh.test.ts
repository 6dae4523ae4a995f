import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { snapshot } from "../helpers/release";
import { rootOnly } from "../helpers/root";
import { expectVerified, signingKeyPair } from "../helpers/attest";
import { refusalOf } from "../helpers/catalogue";
import { acted } from "../../testbed/events";
import { engineStack, sshStackConfig, sshSuite } from "../helpers/stack";

describe("deploying over SSH to a real sshd, through pulumi preview and pulumi up", function () {
  this.timeout(180_000);
  const suite = sshSuite();
  const held = engineStack();
  let v1: string;
  let v1Release: string;
  let v2: string;
  let cfg: (over?: Record<string, string>) => Record<string, string>;
  const signer = signingKeyPair();

  before(async () => {
    v1 = suite.repo.head();
    cfg = (over = {}) =>
      sshStackConfig(suite.repo.dir, suite.work, suite.sshd, {
        proof: JSON.stringify([
          {
            name: "live-refused",
            command: "python3 -c \"from app import service; service.run('LIVE')\"",
            expectExit: 1,
          },
        ]),
        attestationKey: signer.privateKey,
        ...over,
      });
  });

  // Every deploy here must leave an attestation that npm run verify accepts, signature included.
  /** An up, verified as npm run verify does; `logins` counts the up's SSH logins, not verify's. */
  async function upRun(over: Record<string, string> = {}) {
    const config = cfg(over);
    const before = suite.sshd.logins();
    const run = await held.stack.up(config);
    const logins = suite.sshd.logins() - before;
    expect(run.error, run.error?.message).to.equal(undefined);
    await expectVerified(run.outputs!, config, signer.publicKey);
    return { ...run, logins };
  }
  const up = async (over: Record<string, string> = {}) => (await upRun(over)).outputs!;

  it("previews read-only: the server is byte-for-byte unchanged", async () => {
    fs.mkdirSync(suite.root, { recursive: true });
    const before = snapshot(path.join(suite.work, "srv"));
    const run = await held.stack.preview(cfg());
    expect(run.error, run.error?.message).to.equal(undefined);
    expect(run.outputs!.gates[1].detail).to.match(
      /^server web1 \(\S+@127\.0\.0\.1:\d+\): nothing live; no drift; no lock;/,
    );
    expect(snapshot(path.join(suite.work, "srv"))).to.deep.equal(before);
    // What up would do, planned and not done: every resource created, none yet.
    expect(run.resources.map((r) => r.op))
      .to.include("create")
      .and.not.include("same");
  });

  it("deploys v1: uploaded, staged, switched, proved", async () => {
    const run = await upRun();
    const out = run.outputs!;
    v1Release = out.artifact.releaseId;
    expect(fs.readlinkSync(path.join(suite.root, "current"))).to.equal(
      `releases/${out.artifact.releaseId}`,
    );
    expect(out.deploy?.web1).to.deep.include({
      staged: "new",
      promoted: "switched",
      previous: "",
      backup: { kind: "none", path: "none" },
      lock: "released",
    });
    expect(out.deploy?.web1.proof).to.deep.include({
      passed: true,
      currentVerified: true,
      probes: [{ name: "live-refused", when: "staged", exit: 1 }],
    });
    expect(acted(run)).to.include("create web1-release-upload");
  });

  it("deploys v2 with the live commit as the change set's base, keeping the intact v1 staged as its backup", async () => {
    v2 = suite.repo.commit("v2", { "app/extra.py": "X = 2\n" });
    const out = await up();
    expect(out.changeSet).to.deep.include({ base: v1, baseSource: "server", target: v2 });
    expect(out.changeSet.added.map((f) => f.path)).to.deep.equal(["app/extra.py"]);
    const w = out.deploy!.web1;
    expect(w.previous).to.equal(v1Release);
    expect(w.releaseId).to.equal(out.artifact.releaseId).and.not.equal(v1Release);
    // No archive, so no sha256: the stack output holds no such field.
    expect(w.backup).to.deep.equal({ kind: "release", path: `releases/${v1Release}` });
    expect(fs.readdirSync(path.join(suite.root, "releases")).sort()).to.deep.equal(
      [v1Release, w.releaseId].sort(),
    );
  });

  it("gives the lock back after each deploy", () => {
    expect(fs.existsSync(path.join(suite.root, ".deploy", "lock"))).to.equal(false);
  });

  it("re-deploys with no change by running nothing", async () => {
    const before = snapshot(suite.root);
    const run = await upRun();
    expect(acted(run)).to.deep.equal([]);
    // The survey's read-only session, once for up's preview and once for the update: no command ran.
    expect(run.logins).to.equal(2);
    expect(snapshot(suite.root)).to.deep.equal(before);
  });

  it("rolls back to v1 with no upload: only the symlink moves", async () => {
    const releases = snapshot(path.join(suite.root, "releases"));
    const preview = await held.stack.preview(cfg({ ref: v1 }));
    expect(preview.outputs!.gates.find((g) => g.id === "G5")?.detail).to.match(
      /^preview, would: web1: already staged, no upload /,
    );
    const run = await upRun({ ref: v1 });
    const out = run.outputs!;
    // The transaction acts; the records of the concerns that changed follow it.
    const steps = acted(run);
    expect(steps[0]).to.equal("update web1-deploy");
    expect(steps.slice(1).sort()).to.deep.equal([
      "update web1-backup-keeps",
      "update web1-promote-current",
      "update web1-release-staged",
    ]);
    // The upload keeps the inputs it had: nothing is copied now, and nothing will be next time.
    expect(run.resources.find((o) => o.name === "web1-release-upload")?.op).to.equal("same");
    // The kill-switch was declared OFF before and after: its record did not change.
    expect(run.resources.find((o) => o.name === "web1-killswitch-declared")?.op).to.equal("same");
    // Two survey sessions (up's preview, then the update) and the transaction's one.
    expect(run.logins).to.equal(3);
    expect(out.deploy?.web1.staged).to.equal("present");
    expect(fs.readlinkSync(path.join(suite.root, "current"))).to.equal(
      `releases/${out.artifact.releaseId}`,
    );
    expect(out.artifact.commit).to.equal(v1);
    expect(snapshot(path.join(suite.root, "releases"))).to.deep.equal(releases);
  });

  it("expects no change after a rollback by ref: the release it made live is not uploaded again", async () => {
    const preview = await held.stack.preview(cfg({ ref: v1 }), ["--expect-no-changes"]);
    expect(preview.code, preview.stdout).to.equal(0);
    expect(preview.outputs!.gates.find((g) => g.id === "G5")?.detail).to.equal(
      `preview, would: web1: ${preview.outputs!.artifact.releaseId} already live, no upload`,
    );
  });

  it("restores a drifted live release from the artifact when drift is accepted, after archiving it", async () => {
    const file = path.join(suite.root, "current", "app", "service.py");
    const original = fs.readFileSync(file, "utf8");
    fs.appendFileSync(file, "# hotfix on the server\n");
    const out = await up({ ref: v1, acceptDrift: "true" });
    const w = out.deploy!.web1;
    expect([w.staged, w.promoted, w.backup.kind]).to.deep.equal([
      "replaced-drifted",
      "unchanged",
      "archive",
    ]);
    expect(fs.readFileSync(file, "utf8")).to.equal(original);
    const held = execFileSync("tar", ["-xzOf", w.backup.path, "./app/service.py"], {
      encoding: "utf8",
    });
    expect(held).to.equal(`${original}# hotfix on the server\n`);
  });

  it("rewrites a kill-switch changed by hand on the server, though nothing changed in the stack", async () => {
    const ks = path.join(suite.root, "shared", "kill-switch.json");
    fs.writeFileSync(ks, '{"execution_enabled":true}\n');
    const preview = await held.stack.preview(cfg({ ref: v1, acceptDrift: "true" }));
    expect(preview.outputs!.gates.find((g) => g.id === "G5")?.detail).to.match(
      /\(and restore: the kill-switch file is not as declared\)$/,
    );
    const out = await up({ ref: v1, acceptDrift: "true" });
    expect(out.deploy?.web1.killSwitch).to.deep.equal({ declared: false, readBack: false });
    expect(fs.readFileSync(ks, "utf8")).to.equal('{"execution_enabled":false}\n');
  });

  /** A preview that blocks: its gap and its whole report, the server as it was. */
  async function blocked(over: Record<string, string> = {}) {
    const before = snapshot(suite.root);
    const run = await held.stack.preview(cfg(over));
    expect(run.code).to.equal(1);
    expect(run.resources).to.deep.equal([]);
    expect(snapshot(suite.root)).to.deep.equal(before);
    expect(run.error!.message).to.contain(
      "production_mutation: NONE — No resource was registered; the servers were only read.",
    );
    return { gap: refusalOf(run.error), message: run.error!.message };
  }

  it("blocks on drift in the live tree, naming the file and the way out", async () => {
    const file = path.join(suite.root, "current", "app", "service.py");
    const original = fs.readFileSync(file);
    fs.appendFileSync(file, "# hotfix on the server\n");
    try {
      const err = await blocked({ ref: v1 });
      expect(err.gap).to.match(
        /^server web1: the live release \S+ differs from its manifest \(drift\), modified or missing: app\/service\.py; nothing was changed$/,
      );
      expect(err.message).to.contain(
        `next action: bring those changes into the SSOT repo first: npm run reconcile -- --stack ${held.stack.name} --from ${suite.root}/current`,
      );
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  it("blocks while another deploy holds the lock, naming the holder", async () => {
    fs.mkdirSync(path.join(suite.root, ".deploy", "lock"));
    const since = new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, "Z");
    fs.writeFileSync(
      path.join(suite.root, ".deploy", "lock", "info"),
      `token=ci\nholder=ci-bot\nhost=runner-7\nsince=${since}\nartifact=abc\n`,
    );
    try {
      const err = await blocked();
      expect(err.gap).to.match(
        new RegExp(
          `^server web1: the deploy lock \\S+ is held by ci-bot on runner-7 since ${since} for artifact abc, 6\\ds ago; nothing was changed$`,
        ),
      );
    } finally {
      fs.rmSync(path.join(suite.root, ".deploy", "lock"), { recursive: true });
    }
  });

  it("blocks on a host key that is not the pinned one", async () => {
    const other =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB6Y4sQ/1E8uGNXv2S6m0K6vPZ6yJv0Xw7n5d0H0kS6F";
    const hosts = [
      {
        name: "web1",
        host: "127.0.0.1",
        port: suite.sshd.port,
        user: os.userInfo().username,
        hostKey: other,
      },
    ];
    const err = await blocked({ hosts: JSON.stringify(hosts) });
    expect(err.gap).to.match(
      /^server web1: the host key of \S+ is not the pinned hostKey \(possible impersonation, or the server was rebuilt\); nothing was changed$/,
    );
  });

  it("blocks on an unreachable server", async () => {
    const hosts = [
      { name: "web1", host: "127.0.0.1", port: 1, user: "root", hostKey: suite.sshd.hostKey },
    ];
    const err = await blocked({ hosts: JSON.stringify(hosts) });
    expect(err.gap).to.match(
      /^server web1: root@127\.0\.0\.1:1 is unreachable: .*; nothing was changed$/,
    );
  });

  it("blocks when the server's disk has too little room for the release", async function () {
    rootOnly(this); // it mounts a tmpfs
    const small = path.join(suite.work, "small");
    fs.mkdirSync(small, { recursive: true });
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", small]);
    try {
      // One MiB of incompressible bytes: an artifact larger than the 512 KiB disk.
      suite.repo.commit("big", {
        "data/blob.bin": randomBytes(1 << 20).toString("latin1"),
      });
      const smallRoot = path.join(small, "app");
      const run = await held.stack.preview(cfg({ deployRoot: smallRoot }));
      expect(run.resources).to.deep.equal([]);
      expect(refusalOf(run.error)).to.match(
        new RegExp(
          `^server web1: \\d+ bytes free under ${smallRoot}, the deploy needs \\d+; nothing was changed$`,
        ),
      );
      expect(fs.readdirSync(small)).to.deep.equal([]);
    } finally {
      execFileSync("umount", [small]);
      suite.repo.git("reset", "-q", "--hard", "HEAD~1");
    }
  });
});
