import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../../lib/paths";
import { HistoryUpdate, historyRows, renderHistory } from "../../tools/history";
import { HostLog, hostLine, switchesByUpdate, unreadLogs } from "../../tools/historyHosts";
import { cannotRead } from "../../tools/status";
import { parseRevisionsLog, revisionsLogScript } from "../../remote/status";
import { layout } from "../../remote/preamble";
import { tempDir } from "../helpers/repo";

const FIXTURES = path.join(projectRoot(), "tests", "fixtures", "history");
const HISTORY = path.join(FIXTURES, "contabo.history.json");
const updates = () => JSON.parse(fs.readFileSync(HISTORY, "utf8")) as HistoryUpdate[];
const web1Log = () => fs.readFileSync(path.join(FIXTURES, "contabo.revisions.jsonl"), "utf8");
const AAA = "aaaaaaaaaaaa-0a1b2c3d";
const BBB = "bbbbbbbbbbbb-1b2c3d4e";
const CCC = "cccccccccccc-2c3d4e5f";
const DDD = "dddddddddddd-3d4e5f60";

/**
 * web2 got the first two releases with web1; during update 4 it switched to D and its failed
 * probe reverted it to B; update 5 never reached it. web3 could not be read.
 */
const logs = (): HostLog[] => [
  { host: "web1", log: web1Log() },
  {
    host: "web2",
    log:
      web1Log().split("\n").slice(0, 2).join("\n") +
      "\n" +
      [
        { time: "2026-11-12T09:00:20Z", releaseId: DDD, commit: "d".repeat(40) },
        { time: "2026-11-12T09:00:30Z", event: "revert", releaseId: BBB, commit: "b".repeat(40) },
      ]
        .map((e) => JSON.stringify(e))
        .join("\n") +
      "\n",
  },
  {
    host: "web3",
    gap: {
      gap: "server web3: deploy@203.0.113.9:22 is unreachable: connect ETIMEDOUT; nothing was changed",
      next: "check the host, port and network path (and that sshd runs), then run pulumi preview again",
    },
  },
];

describe("npm run history -- --servers: each host's release under each update", () => {
  it("takes, for each host and update, the last entry its own log wrote during the update", () => {
    const rows = historyRows(updates());
    const byUpdate = switchesByUpdate(rows, logs());
    expect([...byUpdate]).to.deep.equal([
      [5, [{ host: "web1", releaseId: CCC }, { host: "web2" }, { host: "web3", unread: true }]],
      [
        4,
        [
          { host: "web1" },
          { host: "web2", releaseId: BBB, revert: true },
          { host: "web3", unread: true },
        ],
      ],
      [3, [{ host: "web1" }, { host: "web2" }, { host: "web3", unread: true }]],
      [
        2,
        [
          { host: "web1", releaseId: BBB },
          { host: "web2", releaseId: BBB },
          { host: "web3", unread: true },
        ],
      ],
      [
        1,
        [
          { host: "web1", releaseId: AAA },
          { host: "web2", releaseId: AAA },
          { host: "web3", unread: true },
        ],
      ],
    ]);
  });

  it("applies the window rule the commit pin uses: a host's release is the one --revisions with its log pins", () => {
    const pinned = historyRows(updates(), web1Log());
    const web1 = switchesByUpdate(historyRows(updates()), logs());
    for (const r of pinned)
      expect(web1.get(r.version)![0].releaseId, `update ${r.version}`).to.equal(r.releaseId);
  });

  it("says of each host the release that went live on it, a revert, no switch, or that it was not read", () => {
    const byUpdate = switchesByUpdate(historyRows(updates()), logs());
    expect(hostLine(byUpdate.get(5)!)).to.equal(
      `web1 -> ${CCC}   web2: no switch in this update   web3: not read (see below)`,
    );
    expect(hostLine(byUpdate.get(4)!)).to.equal(
      `web1: no switch in this update   web2 -> ${BBB} (reverted to it)   web3: not read (see below)`,
    );
  });

  it("prints each update's host line right under its row, before its rollback line", () => {
    const rows = historyRows(updates());
    const byUpdate = switchesByUpdate(rows, logs());
    const text = renderHistory(rows, "contabo", (r) => hostLine(byUpdate.get(r.version)!));
    const plain = renderHistory(rows, "contabo").split("\n");
    const lines = text.split("\n");
    // The header, then per update: its row, its host line, its rollback line.
    expect(lines).to.have.length(1 + rows.length * 3);
    rows.forEach((r, i) => {
      expect(lines[1 + i * 3]).to.equal(plain[1 + i * 2]);
      expect(lines[2 + i * 3]).to.equal(`        ${hostLine(byUpdate.get(r.version)!)}`);
      expect(lines[3 + i * 3]).to.equal(plain[2 + i * 2]);
    });
  });

  it("gives each host whose log could not be read its gap and next action, as status does", () => {
    const l = logs();
    expect(unreadLogs(l)).to.equal(cannotRead("web3", l[2].gap!));
    expect(unreadLogs(l.slice(0, 2))).to.equal(undefined);
  });

  it("reads a server's log read-only, telling a deploy root that does not exist from one with no log yet", () => {
    const dir = tempDir();
    try {
      const root = path.join(dir, "srv", "it's app");
      const read = () => {
        const r = spawnSync("sh", ["-s"], { input: revisionsLogScript(root), encoding: "utf8" });
        expect(r.status, r.stderr).to.equal(0);
        return parseRevisionsLog(r.stdout);
      };
      expect(read()).to.deep.equal({ rootPresent: false, revisions: "" });
      fs.mkdirSync(root, { recursive: true });
      expect(read()).to.deep.equal({ rootPresent: true, revisions: "" });
      const log = layout(root).revisions;
      fs.mkdirSync(path.dirname(log));
      fs.writeFileSync(log, web1Log());
      expect(read()).to.deep.equal({ rootPresent: true, revisions: web1Log() });
      expect(fs.readFileSync(log, "utf8")).to.equal(web1Log());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses --key or --config-file without --servers as a usage error: only --servers reads the stack's servers", () => {
    const cli = path.join(projectRoot(), "dist", "scripts", "history.js");
    for (const option of ["--key", "--config-file"]) {
      const r = spawnSync(
        "node",
        [cli, "--stack", "contabo", "--from-file", HISTORY, option, "/nonexistent"],
        { encoding: "utf8" },
      );
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stderr).to.contain(
        `${option} is read only with --servers: add --servers to read each host's log`,
      );
    }
  });
});
