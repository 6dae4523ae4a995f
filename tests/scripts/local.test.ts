import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { projectRoot } from "../../lib/paths";
import { SAMPLE_REPO } from "../../tools/sampleRepo";
import { tempDir } from "../helpers/repo";

describe("the README's main job (npm run local)", function () {
  this.timeout(120_000);
  it("previews then deploys the local stack in-process, every gate passing and the proof holding", () => {
    const out = execFileSync(
      process.execPath,
      [path.join(projectRoot(), "dist", "scripts", "local.js")],
      {
        encoding: "utf8",
      },
    );
    const sections = out.split("== up (stack local, in-process) ==");
    expect(sections).to.have.length(2);
    for (const s of sections) {
      for (const id of ["G0", "G1", "G2", "G3", "G4"])
        expect(s).to.match(new RegExp(`^${id} .* PASS `, "m"));
    }
    expect(sections[1]).to.contain("tests: 3/3 passed (cached)");
    expect(sections[1]).to.match(
      /^deploy local: (switched|unchanged) .* -> \S+; backup (not needed: .+|\/\S+ \(sha256 [0-9a-f]{12}\))$/m,
    );
    expect(sections[1]).to.contain("kill-switch declared false, read back false; restarted none");
    expect(sections[1]).to.contain(
      "proof passed: live-refused (staged) exit 1, simulate (staged) exit 0",
    );
    expect(sections[1]).to.contain("G5 PASS  G6 PASS  G7 PASS");
    // Signed with the key made once under .ssot-deploy/, and verified with its public half.
    expect(sections[0]).to.match(
      /^signing key: \.ssot-deploy\/attestation-key\.pem \(public: \.ssot-deploy\/attestation-key\.pub\)$/m,
    );
    expect(sections[1]).to.match(
      /^VERIFIED: \d+ check\(s\) held, 0 skipped; signed by the key given, so its origin is proven$/m,
    );
  });

  it("rolls the local stack back by --release without running the tests, the attestation still verifying", () => {
    const local = path.join(projectRoot(), "dist", "scripts", "local.js");
    const first = execFileSync(process.execPath, [local], { encoding: "utf8" });
    const id = /^artifact: \S+\/([0-9a-f]{12}-[0-9a-f]{8})\.tar\.gz$/m.exec(first)?.[1];
    expect(id, first).to.be.a("string");
    const out = execFileSync(process.execPath, [local, "--release", id!], { encoding: "utf8" });
    const up = out.split("== up (stack local, in-process) ==")[1];
    expect(up).to.match(
      new RegExp(`^G3 tests +PASS +not run again: release ${id}'s signed test result`, "m"),
    );
    expect(up).to.contain("tests: 3/3 passed (not run: the signed result of its first deploy)");
    expect(up).to.match(new RegExp(`^deploy local: \\S+ \\S+ -> ${id};`, "m"));
    expect(up).to.match(/^VERIFIED: \d+ check\(s\) held, 0 skipped;/m);
  });

  it("creates the sample repository only at the path the stack ships with: any other missing repo is refused at G0", () => {
    const work = tempDir();
    try {
      const shipped = yaml.load(
        fs.readFileSync(path.join(projectRoot(), "Pulumi.local.yaml"), "utf8"),
      ) as { config: Record<string, unknown> };
      expect(shipped.config["ssot-deploy:repo"]).to.equal(SAMPLE_REPO);
      const typo = path.join(work, ".ssot-deploy", "sampel-repo");
      const file = path.join(work, "Pulumi.local.yaml");
      fs.writeFileSync(
        file,
        yaml.dump({ config: { ...shipped.config, "ssot-deploy:repo": typo } }),
      );
      const run = spawnSync(
        process.execPath,
        [path.join(projectRoot(), "dist", "scripts", "local.js"), "--config-file", file],
        { encoding: "utf8" },
      );
      expect(run.status).to.equal(1);
      expect(run.stderr).to.contain(
        `exact gap: the SSOT repo ${typo} does not exist on this machine (${os.hostname()})`,
      );
      expect(fs.existsSync(typo)).to.equal(false);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
