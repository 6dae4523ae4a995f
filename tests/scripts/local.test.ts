import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { projectRoot } from "../../lib/paths";
import { SAMPLE_REPO } from "../../tools/sampleRepo";
import { LOCAL_TEMPLATE } from "../../tools/localStack";
import { tempDir } from "../helpers/repo";

const LOCAL = path.join(projectRoot(), "dist", "scripts", "local.js");

/** npm run local's output, cut at its section titles: preview, up, and the up's outputs. */
function sectionsOf(out: string): { preview: string; up: string; outputs: string } {
  const [, preview, up, outputs] = out.split(
    /^== (?:pulumi preview --stack local|pulumi up --stack local|the up's outputs) ==$/m,
  );
  expect(outputs, out).to.be.a("string");
  return { preview, up, outputs };
}

describe("the README's main job (npm run local)", function () {
  this.timeout(180_000);
  it("runs pulumi preview then pulumi up of the local stack, every gate passing and the proof holding", () => {
    const out = execFileSync(process.execPath, [LOCAL], { encoding: "utf8" });
    const s = sectionsOf(out);
    // The engine prints the program's gate table as a diagnostic, indented, in both runs.
    for (const part of [s.preview, s.up])
      for (const id of ["G0", "G1", "G2", "G3", "G4"])
        expect(part).to.match(new RegExp(`^\\s+${id} .* PASS `, "m"));
    expect(s.outputs).to.contain("tests: 3/3 passed (cached)");
    expect(s.outputs).to.match(
      /^deploy local: (switched|unchanged) .* -> \S+; backup (not needed: .+|\/\S+ \(sha256 [0-9a-f]{12}\))$/m,
    );
    expect(s.outputs).to.contain("kill-switch declared false, read back false; restarted none");
    expect(s.outputs).to.contain(
      "proof passed: live-refused (staged) exit 1, simulate (staged) exit 0",
    );
    expect(s.outputs).to.contain("G5 PASS  G6 PASS  G7 PASS");
    // Signed with the key made once under .ssot-deploy/, and verified with its public half.
    expect(out).to.match(
      /^signing key: \.ssot-deploy\/attestation-key\.pem \(public: \.ssot-deploy\/attestation-key\.pub\)$/m,
    );
    expect(out).to.match(
      /^stack: local on file:\/\/\S+\/\.ssot-deploy\/state, settings Pulumi\.local\.yaml.*, passphrase \.ssot-deploy\/passphrase$/m,
    );
    expect(s.outputs).to.match(
      /^VERIFIED: \d+ check\(s\) held, 0 skipped; signed by the key given, so its origin is proven$/m,
    );
  });

  it("says no change on a second run with nothing changed, on its file backend whatever backend the operator chose, and leaves a stack whose preview expects none", () => {
    execFileSync(process.execPath, [LOCAL], { encoding: "utf8" });
    // A team's backend chosen in the environment (a closed loopback port here): npm run local
    // keeps its own file backend, where the first run's stack is, so it finds nothing to change.
    const team = "s3://team-state?endpoint=127.0.0.1:1&s3ForcePathStyle=true&region=us-east-1";
    const again = sectionsOf(
      execFileSync(process.execPath, [LOCAL], {
        encoding: "utf8",
        env: { ...process.env, PULUMI_BACKEND_URL: team },
      }),
    );
    expect(again.outputs).to.match(/^result: no change; attestation: /m);
    expect(again.up).to.match(/^Resources:\n\s+\d+ unchanged$/m);
    const preview = spawnSync(
      process.execPath,
      [
        path.join(projectRoot(), "dist", "scripts", "pulumi.js"),
        "preview",
        "--stack",
        "local",
        "--expect-no-changes",
      ],
      { encoding: "utf8" },
    );
    expect(preview.status, preview.stdout + preview.stderr).to.equal(0);
    const history = execFileSync(
      process.execPath,
      [
        path.join(projectRoot(), "dist", "scripts", "pulumi.js"),
        "stack",
        "history",
        "--stack",
        "local",
        "--json",
      ],
      { encoding: "utf8" },
    );
    expect((JSON.parse(history) as unknown[]).length).to.be.at.least(2);
  });

  it("rolls the local stack back by --release without running the tests, the attestation still verifying", () => {
    const first = execFileSync(process.execPath, [LOCAL], { encoding: "utf8" });
    const id = /^artifact: \S+\/([0-9a-f]{12}-[0-9a-f]{8})\.tar\.gz$/m.exec(first)?.[1];
    expect(id, first).to.be.a("string");
    const out = sectionsOf(
      execFileSync(process.execPath, [LOCAL, "--release", id!], { encoding: "utf8" }),
    );
    expect(out.up).to.match(
      new RegExp(`^\\s+G3 tests +PASS +not run again: release ${id}'s signed test result`, "m"),
    );
    expect(out.outputs).to.contain(
      "tests: 3/3 passed (not run: the signed result of its first deploy)",
    );
    expect(out.outputs).to.match(new RegExp(`^deploy local: \\S+ \\S+ -> ${id};`, "m"));
    expect(out.outputs).to.match(/^VERIFIED: \d+ check\(s\) held, 0 skipped;/m);
    // The next run without --release deploys the repository's HEAD again.
    const back = sectionsOf(execFileSync(process.execPath, [LOCAL], { encoding: "utf8" }));
    expect(back.outputs).to.match(/^tests: 3\/3 passed \(cached\)$/m);
  });

  it("creates the sample repository only at the path the stack ships with: any other missing repo is refused at G0", () => {
    const work = tempDir();
    try {
      const shipped = yaml.load(
        fs.readFileSync(path.join(projectRoot(), LOCAL_TEMPLATE), "utf8"),
      ) as { config: Record<string, unknown> };
      expect(shipped.config["ssot-deploy:repo"]).to.equal(SAMPLE_REPO);
      const typo = path.join(work, ".ssot-deploy", "sampel-repo");
      const file = path.join(work, "Pulumi.local.yaml");
      fs.writeFileSync(
        file,
        yaml.dump({ config: { ...shipped.config, "ssot-deploy:repo": typo } }),
      );
      const run = spawnSync(process.execPath, [LOCAL, "--config-file", file], {
        encoding: "utf8",
      });
      expect(run.status).to.equal(1);
      // The refusal is the engine's diagnostic, which the CLI prints on its standard output.
      expect(run.stdout).to.contain(
        `exact gap: the SSOT repo ${typo} does not exist on this machine (${os.hostname()})`,
      );
      expect(fs.existsSync(typo)).to.equal(false);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
