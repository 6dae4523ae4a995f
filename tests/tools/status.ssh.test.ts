import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../../lib/paths";
import { TestSshd } from "../../testbed/sshd";
import { releaseLock } from "../../tools/lock";
import { HostStatus, readStatus } from "../../tools/status";
import { signingKeyPair } from "../helpers/attest";
import { snapshot } from "../helpers/release";
import { deployedSuite, sshHost, sshStackConfig } from "../helpers/stack";

describe("npm run status and npm run lock, against a real sshd", function () {
  this.timeout(180_000);
  const s = deployedSuite();
  let v1Release: string;
  let v2Release: string;
  const config = (over: Record<string, string> = {}) =>
    sshStackConfig(s.repo.dir, s.work, s.sshd, over);
  const read = (over: Record<string, string> = {}) =>
    readStatus({ raw: config(over), privateKey: s.sshd.userKey.privateKey });
  const web1 = async (): Promise<HostStatus> => (await read())[0];

  /** Runs one of the npm run scripts as a user would, with a stack file and a key file. */
  function cli(script: string, args: string[]) {
    const stackFile = path.join(s.work, "Pulumi.test.yaml");
    const cfg = config();
    fs.writeFileSync(
      stackFile,
      JSON.stringify({
        config: Object.fromEntries(Object.entries(cfg).map(([k, v]) => [`ssot-deploy:${k}`, v])),
      }),
    );
    const key = path.join(s.work, "key");
    fs.writeFileSync(key, s.sshd.userKey.privateKey, { mode: 0o600 });
    const r = spawnSync(
      process.execPath,
      [
        path.join(projectRoot(), "dist", "scripts", `${script}.js`),
        ...args,
        "--stack",
        "test",
        "--config-file",
        stackFile,
        "--key",
        key,
      ],
      { encoding: "utf8" },
    );
    return { code: r.status, out: r.stdout, err: r.stderr };
  }

  before(async () => {
    v1Release = fs.readlinkSync(path.join(s.root, "current")).replace("releases/", "");
    s.repo.commit("v2", { "app/extra.py": "X = 2\n" });
    const v2 = await s.up();
    if (v2.error) throw v2.error;
    v2Release = v2.outputs!.artifact.releaseId;
    s.v1 = s.repo.head();
  });

  it("shows the live release with its commit, when and by whom, and the releases a rollback can use", async () => {
    const before = snapshot(s.root);
    const h = await web1();
    expect(snapshot(s.root), "status wrote to the server").to.deep.equal(before);
    expect(h.live).to.deep.include({ release: v2Release, commit: s.repo.head() });
    expect(h.live!.time).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(h.live!.who).to.be.a("string").and.not.equal("");
    expect(h.log).to.deep.equal({ entries: 2 });
    expect(h.releases).to.deep.equal(
      [
        // Deployed unsigned: no evidence kept, so a rollback to them goes by ref.
        { id: v1Release, verified: true, proved: true, evidence: false },
        { id: v2Release, verified: true, proved: true, evidence: false },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    );
    expect(h.lock).to.equal(null);
    expect(h.killSwitch).to.deep.equal({ key: "execution_enabled", value: false });
    expect(h.drift).to.equal(null);
  });

  it("marks a staged release that no longer matches its manifest as failed, naming the file", async () => {
    const file = path.join(s.root, "releases", v1Release, "app", "service.py");
    const original = fs.readFileSync(file);
    fs.appendFileSync(file, "# changed\n");
    try {
      const h = await web1();
      expect(h.releases!.find((r) => r.id === v1Release)).to.deep.equal({
        id: v1Release,
        verified: false,
        proved: true,
        evidence: false,
        differs: "app/service.py",
      });
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  it("names the live files that drifted", async () => {
    const file = path.join(s.root, "current", "app", "extra.py");
    fs.writeFileSync(file, "X = 3\n");
    fs.writeFileSync(path.join(s.root, "current", "app", "hotfix.py"), "Y = 1\n");
    try {
      const h = await web1();
      expect(h.drift).to.deep.equal({ modified: ["app/extra.py"], added: ["app/hotfix.py"] });
      // The live release, read once by the drift check, no longer matches its manifest.
      expect(h.releases!.find((r) => r.id === v2Release)?.verified).to.equal(false);
    } finally {
      fs.writeFileSync(file, "X = 2\n");
      fs.rmSync(path.join(s.root, "current", "app", "hotfix.py"));
    }
  });

  it("reports each host, and the exact gap of one it cannot reach", async () => {
    const hosts = JSON.stringify([
      sshHost("web1", s.sshd),
      { ...sshHost("web2", s.sshd), port: 1 },
    ]);
    const both = await read({ hosts });
    expect(both.map((h) => h.host)).to.deep.equal(["web1", "web2"]);
    expect(both[0].live?.release).to.equal(v2Release);
    expect(both[1].gap).to.deep.equal({
      gap: "server web2: root@127.0.0.1:1 is unreachable: connect ECONNREFUSED 127.0.0.1:1; nothing was changed",
      next: "check the host, port and network path (and that sshd runs), then run pulumi preview again",
    });
  });

  it("names a host by its place in the stack's list, also when --host picks it", async () => {
    // Another server's key: web2's connection fails on the pinned key, after the lookup.
    const elsewhere = await TestSshd.start();
    await elsewhere.stop();
    const wrongKey = { ...sshHost("web2", s.sshd), hostKey: elsewhere.hostKey };
    const [h] = await readStatus({
      raw: config({ hosts: JSON.stringify([sshHost("web1", s.sshd), wrongKey]) }),
      privateKey: s.sshd.userKey.privateKey,
      host: "web2",
    });
    expect(h.host).to.equal("web2");
    expect(h.gap?.next).to.contain("pulumi config set --path 'hosts[1].hostKey'");
  });

  it("gives the exact gap of a deployRoot that does not exist", async () => {
    const [h] = await read({ deployRoot: path.join(s.work, "nowhere", "app") });
    expect(h.gap?.gap).to.equal(
      `server web1: ${path.join(s.work, "nowhere", "app")} does not exist: nothing was ever deployed there`,
    );
  });

  it("runs as npm run status: a table, or JSON with the hosts and no fleet for one host, and exit 0", () => {
    const table = cli("status", []);
    expect(table.code, table.err).to.equal(0);
    expect(table.out).to.match(
      new RegExp(`^  live         ${v2Release}, commit [0-9a-f]{12}, deployed \\S+ by `, "m"),
    );
    expect(table.out).to.contain(
      `  release      ${v1Release}: matches its manifest, proved, no evidence kept: roll back to it by ref (tests again)`,
    );
    expect(table.out).to.match(/^ {2}lock {9}free$/m);
    expect(table.out, "one host has no fleet to compare").to.not.match(/^fleet:/m);
    const json = cli("status", ["--json"]);
    const parsed = JSON.parse(json.out) as { hosts: HostStatus[]; fleet: unknown };
    expect(parsed.hosts[0].live?.release).to.equal(v2Release);
    expect(parsed.fleet).to.equal(null);
  });

  it("takes the stack's public key with --public-key, and refuses a file that is not one as a usage error", () => {
    const notKey = path.join(s.work, "not-a-key.pub");
    fs.writeFileSync(notKey, "hello\n");
    const bad = cli("status", ["--public-key", notKey]);
    expect(bad.code).to.equal(2);
    expect(bad.err).to.contain(
      `--public-key ${notKey} is not a PEM public key; pass the stack's attestation public key`,
    );
    const missing = cli("status", ["--public-key", path.join(s.work, "none.pub")]);
    expect(missing.code).to.equal(2);
    expect(missing.err).to.contain(`--public-key ${path.join(s.work, "none.pub")} does not exist`);
    const pub = path.join(s.work, "attest.pub");
    fs.writeFileSync(pub, signingKeyPair().publicKey);
    const good = cli("status", ["--public-key", pub]);
    expect(good.code, good.err).to.equal(0);
  });

  describe("the lock", () => {
    const lockDir = () => path.join(s.root, ".deploy", "lock");
    /** A lock as a deploy leaves it, held by the shell `pid` started at `start`. */
    function hold(pid: number, start: string, since: string) {
      fs.mkdirSync(lockDir());
      fs.writeFileSync(
        path.join(lockDir(), "info"),
        `token=ci\nholder=ci-bot\nhost=runner-7\nartifact=abc\nsince=${since}\npid=${pid}\nstart=${start}\n`,
      );
    }
    const startOf = (pid: number) =>
      fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")[19];
    afterEach(() => fs.rmSync(lockDir(), { recursive: true, force: true }));

    it("shows the holder, since when and its age on the server's one clock, and whether its deploy runs", async () => {
      const since = new Date(Date.now() - 90_000).toISOString().replace(/\.\d+Z$/, "Z");
      hold(999_999, "1", since);
      const h = await web1();
      expect(h.lock).to.deep.include({
        holder: "ci-bot",
        host: "runner-7",
        since,
        alive: false,
        stale: false,
      });
      expect(h.lock!.ageSeconds).to.be.within(90, 93);
      const out = cli("lock", ["status"]);
      expect(out.out).to.match(
        new RegExp(
          `^web1: held by ci-bot on runner-7 since ${since} \\(9\\ds ago\\); its deploy has ended: npm run lock -- release gives it back$`,
          "m",
        ),
      );
    });

    it("releases a lock whose deploy has ended on the server", async () => {
      hold(999_999, "1", "2026-11-24T10:00:00Z");
      const r = await releaseLock({ raw: config(), privateKey: s.sshd.userKey.privateKey }, false);
      expect(r).to.deep.equal([
        {
          host: "web1",
          outcome: "released",
          detail:
            "released the lock of ci-bot on runner-7 since 2026-11-24T10:00:00Z: its deploy has ended",
        },
      ]);
      expect(fs.existsSync(lockDir())).to.equal(false);
    });

    it("refuses to release a lock whose deploy still runs, naming it and its pid, unless forced", async () => {
      const running = spawn("sleep", ["60"]);
      try {
        const pid = running.pid!;
        hold(pid, startOf(pid), "2026-11-24T10:00:00Z");
        const refused = cli("lock", ["release"]);
        expect(refused.code).to.equal(1);
        expect(refused.out.trim()).to.equal(
          `web1: REFUSED: the deploy of ci-bot on runner-7 still runs on the server (pid ${pid}, since 2026-11-24T10:00:00Z) and holds ${lockDir()}; nothing was changed; wait for it to end, or pass --force to take its lock away, naming it`,
        );
        expect(fs.existsSync(lockDir())).to.equal(true);
        const forced = cli("lock", ["release", "--force"]);
        expect(forced.code).to.equal(0);
        expect(forced.out.trim()).to.equal(
          `web1: released the lock of ci-bot on runner-7 since 2026-11-24T10:00:00Z, whose deploy still runs (pid ${pid}), because --force was given`,
        );
        expect(fs.existsSync(lockDir())).to.equal(false);
      } finally {
        running.kill();
      }
    });
  });
});
