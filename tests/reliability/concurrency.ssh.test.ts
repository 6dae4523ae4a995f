import { expect } from "chai";
import { projectRoot } from "../../lib/paths";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { acquireLockScript } from "../../remote/lock";
import { blockedLine } from "../../remote/sh";
import { SshSession } from "../../survey/ssh";
import { leftovers, liveRelease } from "../helpers/faults";
import { tempDir } from "../helpers/repo";
import { sshStackConfig, sshSuite } from "../helpers/stack";

interface ChildResult {
  deployed: boolean;
  refusal?: string;
  error?: string;
  releaseId?: string;
}

/** Runs one up in a child process whose working directory is `copy`, as a second checkout would. */
function upFrom(copy: string, config: Record<string, string>): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(projectRoot(), "dist", "tests", "helpers", "deployChild.js")],
      {
        cwd: copy,
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("close", () => {
      const line = out.split("\n").find((l) => l.startsWith("RESULT "));
      if (line) resolve(JSON.parse(line.slice(7)) as ChildResult);
      else reject(new Error(`the child printed no result:\n${out.slice(-2000)}`));
    });
    child.stdin.end(JSON.stringify(config));
  });
}

describe("deploys at the same time, against a real sshd", function () {
  this.timeout(180_000);
  const suite = sshSuite();

  before(() => {});

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

  it("lets one of two working copies deploy and refuses the other, naming the holder; neither leaves the lock", async () => {
    const copies = [tempDir("ssot-wc-a-"), tempDir("ssot-wc-b-")];
    // The proof holds the lock for a while, so that the two deploys overlap.
    const config = sshStackConfig(suite.repo.dir, suite.work, suite.sshd, {
      proof: JSON.stringify([{ name: "hold", command: "sleep 4" }]),
    });
    const results = await Promise.all(
      copies.map((c) => upFrom(c, { ...config, workDir: path.join(c, "local") })),
    );
    const won = results.filter((r) => r.deployed);
    const lost = results.filter((r) => !r.deployed);
    expect(won, JSON.stringify(results, null, 2)).to.have.length(1);
    expect(lost).to.have.length(1);
    // Refused at the survey when the winner held the lock by then, or at the lock step.
    expect(lost[0].refusal).to.match(
      new RegExp(
        `^(server web1: )?the deploy lock ${suite.root}/\\.deploy/lock is held by ${os.userInfo().username} on ${os.hostname()} since \\S+ for artifact [0-9a-f]{64}, \\d+s ago; (nothing was changed|current was not switched)`,
      ),
    );
    expect(liveRelease(suite.root)).to.deep.equal({ id: won[0].releaseId, complete: true });
    expect(leftovers(suite.root)).to.deep.equal([]);
    for (const c of copies) fs.rmSync(c, { recursive: true, force: true });
  });
});
