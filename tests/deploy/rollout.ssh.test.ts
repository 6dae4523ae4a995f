import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { TestSshd } from "../../testbed/sshd";
import { FixtureRepo, tempDir } from "../helpers/repo";
import { engineStack, sshHost } from "../helpers/stack";

describe("a rolling rollout, one host at a time, over two real sshd servers, through pulumi up", function () {
  this.timeout(180_000);
  const held = engineStack();
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
    await Promise.all([web1?.stop(), web2?.stop()]);
    repo?.remove();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("stops at the first host whose post-deploy proof fails: the next host is never touched", async () => {
    // The probe fails only on web1: sshd tells the session which port it came in on.
    const probe = `[ "\${SSH_CONNECTION##* }" != ${web1.port} ]`;
    const logins = [web1.logins(), web2.logins()];
    const run = await held.stack.up({
      repo: repo.dir,
      testCommand: "echo '1 passed, 0 failed'",
      workDir: path.join(work, "local"),
      target: "ssh",
      hosts: JSON.stringify([sshHost("web1", web1), sshHost("web2", web2)]),
      rollout: "rolling",
      batchSize: "1",
      deployRoot: path.join(work, "srv", "app"),
      reportDir: path.join(work, "reports"),
      sshPrivateKey: web1.userKey.privateKey,
      proof: JSON.stringify([{ name: "not-on-web1", command: probe }]),
    });
    expect(run.code).to.equal(1);
    expect(run.error?.message).to.match(
      /BLOCKED: probe not-on-web1 exited 1 in the staged release, expected 0/,
    );
    // What the engine started: web1's upload, then its transaction, which failed.
    const commands = run.resources
      .filter((r) => r.type.startsWith("command:"))
      .map((r) => `${r.op} ${r.name}`);
    expect(commands).to.deep.equal(["create web1-release-upload", "create web1-deploy"]);
    const failed = run.diagnostics.filter((d) => d.severity === "error" && d.urn);
    expect(failed.map((d) => d.urn!.split("::").pop())).to.deep.equal(["web1-deploy"]);
    // web2 is declared, but its upload and deploy wait on web1's deploy, which failed.
    const registered = run.resources.map((r) => r.name);
    expect(registered).to.include("web2-release");
    expect(registered).to.not.include("web2-release-upload");
    expect(registered).to.not.include("web2-deploy");
    // web2 saw only the survey's read-only session, once for up's preview and once for the
    // update; web1 saw those two, the upload's and the transaction's.
    expect([web1.logins() - logins[0], web2.logins() - logins[1]]).to.deep.equal([4, 2]);
    // The up's preview leaves its report, and the failed update its own, which says it did not
    // finish.
    const dir = path.join(work, "reports", held.stack.name);
    const reports = fs.readdirSync(dir).filter((f) => f.endsWith(".md"));
    expect(reports).to.have.length(2);
    const text = fs.readFileSync(path.join(dir, reports.sort()[1]), "utf8");
    expect(text).to.contain("FINAL RESULT: INCOMPLETE\n");
    expect(text).to.match(
      /^exact gap: the up started at \S+ and did not finish: an operation failed or the run was cancelled; on releases\/\S+, deployed by it: none; not finished: no release: web1, web2 before it \(a switch cut partway leaves the release before or the new one, never a mix\)$/m,
    );
    expect(text).to.contain(
      "production_mutation: web1 UNKNOWN (the deploy started and did not finish); web2 UNKNOWN",
    );
  });
});
