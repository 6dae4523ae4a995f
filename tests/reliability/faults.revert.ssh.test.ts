import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { refusalOf, liveState } from "../helpers/catalogue";
import { leftovers, liveRelease } from "../helpers/faults";
import { tally } from "../helpers/tally";
import { deployedSuite } from "../helpers/stack";

describe("a release whose live proof fails, reverted through pulumi up, against a real sshd", function () {
  this.timeout(180_000);
  const s = deployedSuite();

  it("leaves the server on the complete release live before, and a deploy of a good release then converges", async () => {
    const old = liveRelease(s.root).id;
    const before = liveState(s.root);
    s.repo.commit("v2", { "app/extra.py": "X = 2\n" });
    const failing = await s.up({
      proof: JSON.stringify([{ name: "health", command: "echo down; exit 7", when: "live" }]),
    });
    const gap = refusalOf(failing.error);
    const live = liveRelease(s.root);
    const log = fs.readFileSync(path.join(s.root, ".deploy", "revisions.jsonl"), "utf8");
    const entry = JSON.parse(log.trim().split("\n").pop()!) as Record<string, unknown>;
    const leftAs = liveState(s.root);
    const kept = live.complete && live.id === old && isDeepStrictEqual(leftAs, before);

    // The same commit, its probe fixed: the deploy that follows the revert.
    const rerun = await s.up();
    const now = liveRelease(s.root);
    const next = rerun.outputs?.artifact.releaseId;
    const converged =
      !rerun.error && now.complete && now.id === next && leftovers(s.root).length === 0;
    tally.faults.push({ step: "a live proof that failed, reverted", kept, converged });

    expect(gap).to.match(
      new RegExp(
        `^probe health exited 7 in the live release, expected 0 \\(last line: down\\); current was switched back to ${old}, verified against its manifest first, ` +
          "and the kill-switch file restored as it was before this deploy; the revisions log records the revert and the lock was released; " +
          "release (\\S+) stays staged as evidence; fix the release in the SSOT repo, commit, then run pulumi up$",
      ),
    );
    const from = /release (\S+) stays staged/.exec(gap!)![1];
    expect(entry).to.deep.include({ event: "revert", from, to: old, releaseId: old });
    expect(live).to.deep.equal({ id: old, complete: true });
    expect(leftAs).to.deep.equal(before);

    expect(rerun.error, rerun.error?.message).to.equal(undefined);
    expect(now).to.deep.equal({ id: next, complete: true });
    expect(next).to.equal(from);
    const predicate = rerun.outputs!.attestation!.statements[2].statement.predicate as {
      hosts: { revertedBefore: Record<string, string> | null }[];
    };
    expect(predicate.hosts[0].revertedBefore).to.deep.include({
      from,
      to: old,
      why: "probe health exited 7 in the live release, expected 0 (last line: down)",
    });
    expect(fs.readFileSync(rerun.outputs!.report, "utf8")).to.contain(
      `before it, the deploy of ${from} was reverted to ${old} at `,
    );
  });
});
