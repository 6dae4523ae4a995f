import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { HistoryUpdate, historyRows, renderHistory, rollbackCommands } from "../../tools/history";
import { projectRoot } from "../../lib/paths";

const FIXTURES = path.join(projectRoot(), "tests", "fixtures", "history");
const HISTORY = path.join(FIXTURES, "contabo.history.json");
const REVISIONS = path.join(FIXTURES, "contabo.revisions.jsonl");
const updates = () => JSON.parse(fs.readFileSync(HISTORY, "utf8")) as HistoryUpdate[];
const log = () => fs.readFileSync(REVISIONS, "utf8");
const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);

describe("npm run history, on pulumi stack history --json output", () => {
  it("lists every update newest first with its kind, result, ref and the commit a full-id ref names", () => {
    const rows = historyRows(updates());
    expect(rows.map((r) => [r.version, r.kind, r.result, r.ref, r.commit])).to.deep.equal([
      [5, "update", "succeeded", "main", undefined],
      [4, "update", "failed", "d".repeat(40), "d".repeat(40)],
      [3, "refresh", "succeeded", B, B],
      [2, "update", "succeeded", B, B],
      [1, "update", "succeeded", "main", undefined],
    ]);
  });

  it("pins a branch ref to the commit the revisions log recorded during that update", () => {
    const rows = historyRows(updates(), log());
    const byVersion = new Map(rows.map((r) => [r.version, r]));
    expect(byVersion.get(5)).to.deep.include({ commit: C, releaseId: "cccccccccccc-2c3d4e5f" });
    expect(byVersion.get(1)).to.deep.include({ commit: A, releaseId: "aaaaaaaaaaaa-0a1b2c3d" });
    // Update 4 failed before its switch: the log has nothing in its window.
    expect(byVersion.get(4)!.releaseId).to.equal(undefined);
  });

  it("shows a secret config value as [secret], never its text", () => {
    const row = historyRows(updates())[0];
    expect(row.config.sshPrivateKey).to.equal("[secret]");
  });

  it("gives the exact rollback commands for a succeeded update: its release, which is not tested again, noting config that differs now", () => {
    const plan = rollbackCommands(historyRows(updates(), log()), 1, "contabo");
    expect(plan).to.deep.equal({
      commands: [
        "pulumi config set release aaaaaaaaaaaa-0a1b2c3d --stack contabo",
        "pulumi preview --stack contabo",
        "pulumi up --stack contabo",
      ],
      notes: [
        "config keepReleases was 5 then and is 3 now; only the release is rolled back",
        "if the hosts no longer keep release aaaaaaaaaaaa-0a1b2c3d (npm run status -- --stack contabo lists what they keep), " +
          `roll back by commit, which tests and builds again: pulumi config set release '' --stack contabo && pulumi config set ref ${A} --stack contabo`,
      ],
    });
  });

  it("pins ref to the commit when the update's release is not known", () => {
    const fixed = updates().map((u) =>
      u.version === 1
        ? { ...u, config: { ...u.config, "ssot-deploy:ref": { value: A, secret: false } } }
        : u,
    );
    expect(rollbackCommands(historyRows(fixed), 1, "contabo")).to.deep.equal({
      commands: [
        `pulumi config set ref ${A} --stack contabo`,
        "pulumi preview --stack contabo",
        "pulumi up --stack contabo",
      ],
      notes: ["config keepReleases was 5 then and is 3 now; only ref is rolled back"],
    });
  });

  it("refuses a failed update or a refresh, naming the updates that can be rolled back to", () => {
    const rows = historyRows(updates(), log());
    expect(rollbackCommands(rows, 4, "contabo")).to.deep.equal({
      refused:
        "update 4 is an update that ended failed; only a succeeded update deployed something to roll back to: choose one of 5, 2, 1",
    });
    expect(rollbackCommands(rows, 3, "contabo")).to.deep.equal({
      refused:
        "update 3 is a refresh that succeeded; only a succeeded update deployed something to roll back to: choose one of 5, 2, 1",
    });
    expect(rollbackCommands(rows, 9, "contabo")).to.deep.equal({
      refused: "the stack has no update 9; the updates are 5, 4, 3, 2, 1",
    });
  });

  it("refuses a branch ref it cannot pin to a commit, saying how to pin it", () => {
    const plan = rollbackCommands(historyRows(updates()), 1, "contabo");
    expect(plan).to.deep.equal({
      refused:
        "update 1 deployed ref main, a name that may have moved since, and no revisions-log entry falls within it: " +
        "pass the server's log (--revisions <copy of <deployRoot>/.deploy/revisions.jsonl>) to pin its commit",
    });
  });

  it("offers only the updates it can act on, and says why each other one cannot be rolled back to", () => {
    const rows = historyRows(updates(), undefined);
    const text = renderHistory(rows, "contabo");
    const offers = [
      ...text.matchAll(/roll back: npm run history -- --stack contabo --to (\d+)/g),
    ].map((m) => Number(m[1]));
    // Each offer is one rollbackCommands accepts; every other row says why not.
    for (const r of rows)
      expect(
        "commands" in rollbackCommands(rows, r.version, "contabo"),
        `update ${r.version}`,
      ).to.equal(offers.includes(r.version));
    expect(text).to.contain("cannot roll back to it: it ended failed");
    expect(text).to.contain(
      "cannot roll back to it: its ref names no fixed commit; pass --revisions <copy of the server's revisions.jsonl> to pin it",
    );
  });

  it("runs as npm run history: the list, then the commands; exit 1 with the reason when refused", () => {
    const cli = path.join(projectRoot(), "dist", "scripts", "history.js");
    const out = execFileSync(
      "node",
      [cli, "--stack", "contabo", "--from-file", HISTORY, "--revisions", REVISIONS, "--to", "2"],
      { encoding: "utf8" },
    );
    expect(out).to.match(
      /^ {3}5 {2}2026-11-20T10:00:00Z {2}update {3}succeeded {2}ref main -> c{40} {2}\(release cccccccccccc-2c3d4e5f\)$/m,
    );
    expect(out).to.contain(
      "  pulumi config set release bbbbbbbbbbbb-1b2c3d4e --stack contabo\n  pulumi preview --stack contabo\n  pulumi up --stack contabo\n",
    );
    const refused = spawnSync(
      "node",
      [cli, "--stack", "contabo", "--from-file", HISTORY, "--to", "4"],
      {
        encoding: "utf8",
      },
    );
    expect(refused.status).to.equal(1);
    expect(refused.stderr).to.match(/^REFUSED: update 4 is an update that ended failed;/m);
  });
});
