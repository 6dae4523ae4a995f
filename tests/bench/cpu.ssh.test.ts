import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { serverCpu, sessionsEnded, waitedCpu } from "../../bench/cpu";
import { SshRunner } from "../../survey/runner";
import { TestSshd } from "../../testbed/sshd";

/** Burns 0.3 s of CPU, then prints the CPU seconds the process used, as it measured them. */
const BURN = "import time\nwhile time.process_time() < 0.3: pass\nprint(time.process_time())";

/** /proc counts in ticks of 10 ms, the user and system times apart; startup adds a little. */
const near = (got: number, said: number) => {
  expect(got).to.be.at.least(said - 0.02);
  expect(got).to.be.at.most(said + 0.25);
};

describe("the benchmark's CPU figures, read from /proc", function () {
  this.timeout(60_000);
  let sshd: TestSshd;
  before(async () => {
    sshd = await TestSshd.start();
  });
  after(() => sshd?.stop());

  it("counts the CPU of a child this process waited for, as the child measured it itself", () => {
    const before = waitedCpu("self");
    const said = Number(execFileSync("python3", ["-c", BURN], { encoding: "utf8" }));
    near(waitedCpu("self") - before, said);
  });

  it("counts the CPU of a test sshd's session once it ended, as the session's command measured it itself", async () => {
    const before = serverCpu(sshd);
    const runner = await SshRunner.open(sshd.target());
    const r = await runner.run(`python3 -c '${BURN}'`);
    runner.close();
    expect(r.code, r.stderr).to.equal(0);
    await sessionsEnded([sshd]);
    near(serverCpu(sshd) - before, Number(r.stdout));
  });
});
