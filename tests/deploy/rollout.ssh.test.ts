import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { CommandLifecycle } from "../../harness/lifecycle";
import { runProgram } from "../../harness/program";
import { TestSshd } from "../../testbed/sshd";
import { FixtureRepo, tempDir } from "../helpers/repo";
import { sshHost } from "../helpers/stack";

describe("a serial rollout over two real sshd servers", function () {
  this.timeout(120_000);
  let web1: TestSshd;
  let web2: TestSshd;
  let repo: FixtureRepo;
  let work: string;

  before(async () => {
    [web1, web2] = await Promise.all([TestSshd.start(), TestSshd.start()]);
    web2.authorize(web1.userKey.publicKey);
    repo = FixtureRepo.create();
    work = tempDir();
  });
  after(async () => {
    await Promise.all([web1.stop(), web2.stop()]);
    repo.remove();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it("stops at the first host whose post-deploy proof fails: the next host is never touched", async () => {
    const lifecycle = new CommandLifecycle();
    // The probe fails only on web1: sshd tells the session which port it came in on.
    const probe = `[ "\${SSH_CONNECTION##* }" != ${web1.port} ]`;
    const run = await runProgram(
      {
        repo: repo.dir,
        testCommand: "echo '1 passed, 0 failed'",
        workDir: path.join(work, "local"),
        target: "ssh",
        hosts: JSON.stringify([sshHost("web1", web1), sshHost("web2", web2)]),
        rollout: "serial",
        deployRoot: path.join(work, "srv", "app"),
        reportDir: path.join(work, "reports"),
        sshPrivateKey: web1.userKey.privateKey,
        proof: JSON.stringify([{ name: "not-on-web1", command: probe }]),
      },
      { preview: false, lifecycle },
    );
    expect(run.error?.message).to.match(
      /BLOCKED: probe not-on-web1 exited 1 in the staged release, expected 0/,
    );
    const ran = lifecycle.operations.map((o) => `${o.op} ${o.name}`);
    expect(ran).to.deep.equal(["create web1-release-upload"]);
    // web2 is declared, but its upload and deploy wait on web1's deploy, which failed.
    const registered = run.resources.map((r) => r.name);
    expect(registered).to.include("web2-release");
    expect(registered).to.not.include.members(["web2-release-upload"]);
    expect(registered).to.not.include("web2-deploy");
    // The failed up still leaves its report, which says it did not finish.
    const reports = fs.readdirSync(path.join(work, "reports", "test"));
    expect(reports).to.have.length(1);
    const text = fs.readFileSync(path.join(work, "reports", "test", reports[0]), "utf8");
    expect(text).to.contain("FINAL RESULT: INCOMPLETE\n");
    expect(text).to.match(
      /^exact gap: the up started at \S+ and did not finish: an operation failed or the run was cancelled$/m,
    );
    expect(text).to.contain(
      "production_mutation: web1 UNKNOWN (the deploy started and did not finish); web2 UNKNOWN",
    );
  });
});
