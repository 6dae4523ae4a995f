import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { acquireLockScript } from "../../remote/lock";
import { blockedLine } from "../../remote/sh";
import { SshSession } from "../../survey/ssh";
import { refusalOf } from "../helpers/catalogue";
import { EngineRun } from "../../testbed/events";
import { ThrowawayStack } from "../../testbed/stack";
import {
  backendLocks,
  leftovers,
  literally,
  liveRelease,
  lockedOut,
  until,
} from "../helpers/faults";
import { sshStackConfig, sshSuite } from "../helpers/stack";

describe("deploys at the same time, against a real sshd", function () {
  this.timeout(180_000);
  const suite = sshSuite();
  const stacks: ThrowawayStack[] = [];
  before(async () => stacks.push(await ThrowawayStack.create(), await ThrowawayStack.create()));
  after(() => stacks.forEach((s) => s.remove()));

  it("lets exactly one of eight lock attempts made at once take the lock, and names it to the rest", async () => {
    const sessions = await Promise.all(
      Array.from({ length: 8 }, () => SshSession.connect(suite.sshd.target())),
    );
    try {
      const runs = await Promise.all(
        sessions.map((s, i) =>
          s.run(
            acquireLockScript(
              suite.root,
              { token: `t${i}`, holder: `op${i}`, host: `wc${i}`, artifact: `a${i}` },
              false,
              3600,
            ),
          ),
        ),
      );
      const won = runs.flatMap((r, i) => (/^lock=acquired$/m.test(r.stdout) ? [i] : []));
      expect(won).to.have.length(1);
      const holder = `op${won[0]} on wc${won[0]}`;
      for (const [i, r] of runs.entries()) {
        if (i === won[0]) continue;
        expect(r.code).to.equal(3);
        expect(blockedLine(r.stdout)).to.match(
          new RegExp(
            `^the deploy lock ${suite.root}/\\.deploy/lock is held by ${holder} since \\S+ for artifact a${won[0]}, \\d+s ago; current was not switched; `,
          ),
        );
      }
      expect(fs.readFileSync(path.join(suite.root, ".deploy", "lock", "info"), "utf8")).to.contain(
        `token=t${won[0]}\n`,
      );
    } finally {
      for (const s of sessions) s.close();
      fs.rmSync(path.join(suite.root, ".deploy", "lock"), { recursive: true, force: true });
    }
  });

  it("removes a lock candidate a deploy left when it died before renaming it, once it is a minute old", async () => {
    const deploy = path.join(suite.root, ".deploy");
    const dead = path.join(deploy, ".lock-4242");
    const fresh = path.join(deploy, ".lock-4343");
    for (const d of [dead, fresh]) fs.mkdirSync(d, { recursive: true });
    const old = new Date(Date.now() - 5 * 60_000);
    fs.utimesSync(dead, old, old);
    const ssh = await SshSession.connect(suite.sshd.target());
    try {
      const info = { token: "t", holder: "op", host: "wc", artifact: "a" };
      const r = await ssh.run(acquireLockScript(suite.root, info, false, 3600));
      expect(r.stdout).to.match(/^lock=acquired$/m);
      // A candidate younger than a minute may belong to a deploy taking the lock right now.
      expect(fs.readdirSync(deploy).filter((e) => e.startsWith(".lock-"))).to.deep.equal([
        ".lock-4343",
      ]);
    } finally {
      ssh.close();
      for (const d of [fresh, path.join(deploy, "lock")])
        fs.rmSync(d, { recursive: true, force: true });
    }
  });

  it("lets one of two pulumi ups of one stack deploy and refuses the other with the backend's lock, naming the lock file and the CLI that holds it", async () => {
    const [stack] = stacks;
    const config = sshStackConfig(suite.repo.dir, suite.work, suite.sshd);
    const first = await stack.startUp(config);
    // The second starts the moment the first's lock file is written: the file backend checks
    // for a lock, writes its own, then checks again, so two CLIs that write theirs within the
    // same instant can each find the other's and both back off.
    let refusal = "";
    await until(
      () => {
        const [lock] = backendLocks(stack.backendDir);
        if (lock === undefined) return false;
        try {
          // Read while it is held, once whole: the first removes it when it ends.
          refusal = lockedOut(lock, first.child.pid!);
          return true;
        } catch {
          return false;
        }
      },
      60_000,
      "backend lock",
    );
    const second = await stack.up(config);
    const deployed = await first.done;
    expect(second.code).to.equal(1);
    expect(second.stderr).to.equal(refusal);
    // Refused before the program ran: the engine took no step.
    expect(second.steps).to.deep.equal([]);
    expect(deployed.error, deployed.error?.message).to.equal(undefined);
    expect(liveRelease(suite.root)).to.deep.equal({
      id: deployed.outputs!.artifact.releaseId,
      complete: true,
    });
    expect(backendLocks(stack.backendDir)).to.deep.equal([]);
    expect(leftovers(suite.root)).to.deep.equal([]);
  });

  it("lets one of two stacks deploying to one server at once take the server's lock and refuses the other, naming the holder; no lock is left", async () => {
    const a = suite.repo.commit("for stack a", { "app/extra.py": "X = 'a'\n" });
    const b = suite.repo.commit("for stack b", { "app/extra.py": "X = 'b'\n" });
    // A staged probe holds the lock of whichever deploy takes it until the other has ended.
    const go = path.join(suite.work, "go");
    const config = (ref: string, name: string) =>
      sshStackConfig(suite.repo.dir, suite.work, suite.sshd, {
        ref,
        workDir: path.join(suite.work, name),
        proof: JSON.stringify([
          { name: "hold", command: `while [ ! -f '${go}' ]; do sleep 0.1; done` },
        ]),
      });
    const ups = await Promise.all([
      stacks[0].startUp(config(a, "a")),
      stacks[1].startUp(config(b, "b")),
    ]);
    let first: EngineRun;
    let results: EngineRun[];
    try {
      first = await Promise.race(ups.map((u) => u.done));
      fs.writeFileSync(go, "");
      results = await Promise.all(ups.map((u) => u.done));
    } finally {
      fs.writeFileSync(go, "");
    }
    const won = results.filter((r) => r.code === 0);
    const lost = results.filter((r) => r.code !== 0);
    expect(won, results.map((r) => r.error?.message).join("\n")).to.have.length(1);
    expect(lost).to.deep.equal([first]);
    // Refused at the survey when the winner held the lock by then, or at the lock step.
    const held = `the deploy lock ${literally(`${suite.root}/.deploy/lock`)} is held by ${literally(
      `${os.userInfo().username} on ${os.hostname()}`,
    )} since \\S+ for artifact ${won[0].outputs!.artifact.sha256}, \\d+s ago`;
    expect(refusalOf(first.error)).to.match(
      new RegExp(
        `^(server web1: ${held}; nothing was changed|${held}; current was not switched; wait for that deploy to finish, or, if it died, pulumi config set breakStaleLock true and run again)$`,
      ),
    );
    expect(liveRelease(suite.root)).to.deep.equal({
      id: won[0].outputs!.artifact.releaseId,
      complete: true,
    });
    expect(leftovers(suite.root)).to.deep.equal([]);
  });
});
