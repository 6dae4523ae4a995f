import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../../lib/paths";
import { EngineRun } from "../../testbed/events";
import { TestSshd } from "../../testbed/sshd";
import { fleetView } from "../../tools/fleet";
import { historyRows, renderHistory } from "../../tools/history";
import { hostLine, readHostLogs, switchesByUpdate } from "../../tools/historyHosts";
import { HostStatus, noDeployRoot, readStatus, renderStatus } from "../../tools/status";
import { liveRelease } from "../helpers/faults";
import { snapshot } from "../helpers/release";
import { FixtureRepo, tempDir } from "../helpers/repo";
import { rootOnly } from "../helpers/root";
import { engineStack, fleetStackConfig, sshHost } from "../helpers/stack";

const NAMES = ["web1", "web2"];

/** The probe that fails only on `sshd`: sshd tells each session the port it came in on. */
const failsOn = (sshd: TestSshd) => `[ "\${SSH_CONNECTION##* }" != ${sshd.port} ]`;

describe("npm run status and npm run history -- --servers on a mixed fleet of two servers", function () {
  this.timeout(600_000);
  const held = engineStack();
  const servers: TestSshd[] = [];
  let repo: FixtureRepo;
  let work: string;
  let diskAt: string;
  let v1: string;
  let v2: string;

  /** The stack's settings, with `over` adding or replacing keys. */
  const settings = (over: Record<string, string> = {}) =>
    fleetStackConfig(repo.dir, work, servers, path.join(diskAt, "app"), over);
  /** The two servers and a third that refuses connections, as a host that cannot be read. */
  const withUnreachable = () => ({
    hosts: JSON.stringify([
      ...servers.map((s, i) => sshHost(NAMES[i], s)),
      { ...sshHost("web3", servers[0]), port: 1 },
    ]),
  });
  const live = () => servers.map((s) => liveRelease(path.join(s.disk, "app")).id);
  const disks = () => servers.map((s) => snapshot(path.join(s.disk, "app")));
  const releaseOf = (run: EngineRun) => {
    if (run.error) throw new Error(run.error.message);
    return Object.values(run.outputs!.deploy)[0].releaseId;
  };

  /** The stack's settings, with `over`, in a file as --config-file reads it. */
  function settingsFile(over: Record<string, string> = {}): string {
    const file = path.join(work, "Pulumi.fleet.yaml");
    const config = Object.entries(settings(over)).map(([k, v]) => [`ssot-deploy:${k}`, v]);
    fs.writeFileSync(file, JSON.stringify({ config: Object.fromEntries(config) }));
    return file;
  }

  /** Runs one of the npm run scripts as a user would; the stack's own key reaches the servers. */
  function cli(script: string, args: string[]) {
    const env = { ...process.env };
    delete env.SSOT_SSH_KEY_FILE;
    const r = spawnSync(
      process.execPath,
      [path.join(projectRoot(), "dist", "scripts", `${script}.js`), "--stack", "fleet", ...args],
      { encoding: "utf8", env },
    );
    return { code: r.status, out: r.stdout, err: r.stderr };
  }

  before(async function () {
    rootOnly(this);
    work = tempDir();
    diskAt = path.join(work, "srv");
    // Each server sees its own disk at the same path: one deployRoot, as in a real fleet.
    servers.push(...(await Promise.all(NAMES.map(() => TestSshd.start({ diskAt })))));
    servers[1].authorize(servers[0].userKey.publicKey);
    repo = FixtureRepo.create();
    v1 = releaseOf(await held.stack.up(settings()));
    // Rolling, one host a batch: web1 switches, then web2's staged probe fails and it stays.
    repo.commit("v2", { VERSION: "2\n" });
    const second = await held.stack.up(
      settings({
        rollout: "rolling",
        batchSize: "1",
        proof: JSON.stringify([{ name: "not-on-web2", command: failsOn(servers[1]) }]),
      }),
    );
    expect(second.code, second.error?.message).to.equal(1);
    v2 = live()[0];
    expect(live()).to.deep.equal([v2, v1]);
    expect(v2).to.not.equal(v1);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    repo?.remove();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("status reads both servers, read-only, and its closing line says the fleet is mixed, host by release", async () => {
    const before = disks();
    const hosts = await readStatus({ raw: settings(), privateKey: servers[0].userKey.privateKey });
    expect(disks(), "status wrote to a server").to.deep.equal(before);
    expect(hosts.map((h) => [h.host, h.live?.release])).to.deep.equal([
      ["web1", v2],
      ["web2", v1],
    ]);
    const view = fleetView(hosts)!;
    expect(view).to.deep.include({
      state: "mixed",
      releases: [
        { release: v2, hosts: ["web1"] },
        { release: v1, hosts: ["web2"] },
      ],
      unreadable: [],
    });
    expect(renderStatus(hosts).split("\n").pop()).to.equal(
      `fleet: mixed: releases/${v2}: web1; releases/${v1}: web2 ` +
        "(pulumi preview names the release the stack deploys; the next pulumi up deploys it to every host not on it yet)",
    );
  });

  it("runs as npm run status: the fleet line in the table and as a field of --json, a host it cannot read listed as unreadable, exit 1", () => {
    const table = cli("status", ["--config-file", settingsFile()]);
    expect(table.code, table.err).to.equal(0);
    expect(table.out.trimEnd().split("\n").pop()).to.match(
      new RegExp(`^fleet: mixed: releases/${v2}: web1; releases/${v1}: web2 \\(`),
    );
    const json = cli("status", ["--config-file", settingsFile(), "--json"]);
    const parsed = JSON.parse(json.out) as { hosts: HostStatus[]; fleet: unknown };
    expect(parsed.fleet).to.deep.equal(fleetView(parsed.hosts));
    expect(parsed.fleet).to.deep.include({ state: "mixed", unreadable: [] });
    const three = cli("status", ["--config-file", settingsFile(withUnreachable())]);
    expect(three.code).to.equal(1);
    expect(three.out.trimEnd().split("\n").pop()).to.match(
      new RegExp(`^fleet: mixed: releases/${v2}: web1; releases/${v1}: web2; unreadable: web3 \\(`),
    );
  });

  it("history reads each server's log, one connection each, and shows under each update the release that went live on each host", async () => {
    const updates = await held.stack.history();
    const rows = historyRows(updates);
    const ups = rows.filter((r) => r.kind === "update");
    expect(ups.map((r) => r.result)).to.deep.equal(["failed", "succeeded"]);
    const logins = servers.map((s) => s.logins());
    const before = disks();
    const logs = await readHostLogs(settings(), { privateKey: servers[0].userKey.privateKey });
    expect(servers.map((s, i) => s.logins() - logins[i])).to.deep.equal([1, 1]);
    expect(disks(), "history wrote to a server").to.deep.equal(before);
    const byUpdate = switchesByUpdate(rows, logs);
    expect(byUpdate.get(ups[0].version)).to.deep.equal([
      { host: "web1", releaseId: v2 },
      { host: "web2" },
    ]);
    expect(byUpdate.get(ups[1].version)).to.deep.equal([
      { host: "web1", releaseId: v1 },
      { host: "web2", releaseId: v1 },
    ]);
    expect(
      renderHistory(rows, held.stack.name, (r) => hostLine(byUpdate.get(r.version)!)),
    ).to.contain(`\n        web1 -> ${v2}   web2: no switch in this update\n`);
  });

  it("history gives each host whose deploy root does not exist the gap status gives it", async () => {
    const nowhere = path.join(work, "nowhere", "app");
    const logs = await readHostLogs(settings({ deployRoot: nowhere }), {
      privateKey: servers[0].userKey.privateKey,
    });
    expect(logs).to.deep.equal(NAMES.map((host) => ({ host, gap: noDeployRoot(host, nowhere) })));
  });

  it("runs as npm run history -- --servers: host lines under each update, the gap of a host it cannot read, exit 1; offline without it", async () => {
    const saved = path.join(work, "history.json");
    fs.writeFileSync(saved, JSON.stringify(await held.stack.history()));
    const offline = cli("history", ["--from-file", saved]);
    expect(offline.code, offline.err).to.equal(0);
    expect(offline.out).to.not.contain("web1");
    const both = cli("history", [
      "--from-file",
      saved,
      "--servers",
      "--config-file",
      settingsFile(),
    ]);
    expect(both.code, both.err).to.equal(0);
    expect(both.out).to.contain(`        web1 -> ${v2}   web2: no switch in this update\n`);
    expect(both.out).to.contain(`        web1 -> ${v1}   web2 -> ${v1}\n`);
    const three = cli("history", [
      "--from-file",
      saved,
      "--servers",
      "--config-file",
      settingsFile(withUnreachable()),
    ]);
    expect(three.code).to.equal(1);
    expect(three.out).to.contain(
      `        web1 -> ${v2}   web2: no switch in this update   web3: not read (see below)\n`,
    );
    expect(three.out).to.contain(
      "\nweb3\n  CANNOT READ  server web3: root@127.0.0.1:1 is unreachable: connect ECONNREFUSED 127.0.0.1:1; nothing was changed\n" +
        "  next         check the host, port and network path (and that sshd runs), then run pulumi preview again\n",
    );
  });
});
