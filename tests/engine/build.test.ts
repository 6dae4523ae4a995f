import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../../lib/paths";
import { ENGINE_DIR } from "../../tools/engine";
import { tempDir } from "../helpers/repo";

const BUILD = path.join(projectRoot(), "engine", "build.sh");

describe("npm run engine (engine/build.sh)", function () {
  this.timeout(120_000);

  it("stops before building when the source archives are missing, naming the file and what to do instead", () => {
    const empty = tempDir();
    const out = tempDir();
    try {
      const r = spawnSync("bash", [BUILD], {
        encoding: "utf8",
        env: { ...process.env, SSOT_ENGINE_SOURCES: empty, SSOT_ENGINE_DIR: out },
      });
      expect(r.status).to.equal(1);
      expect(r.stderr).to.contain(
        `engine: BLOCKED: ${empty}/pulumi-language-nodejs-v3.248.0.tar.gz is missing`,
      );
      expect(r.stderr).to.match(
        /^engine: next: set SSOT_ENGINE_SOURCES to the folder that holds /m,
      );
      expect(r.stderr).to.contain(
        "install the official CLI (curl -fsSL https://get.pulumi.com | sh)",
      );
      expect(fs.readdirSync(out)).to.deep.equal([]);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it("builds nothing again when nothing changed since the last build, in seconds", () => {
    const started = Date.now();
    const r = spawnSync("bash", [BUILD], { encoding: "utf8" });
    expect(r.status, r.stderr).to.equal(0);
    const already = r.stdout.split("\n").filter((l) => l.endsWith(": built already"));
    expect(already.map((l) => l.split(" ")[1])).to.deep.equal([
      "pulumi",
      "pulumi-language-nodejs",
      "pulumi-resource-command",
      "weed",
    ]);
    const dir = path.resolve(projectRoot(), process.env.SSOT_ENGINE_DIR ?? ENGINE_DIR);
    expect(r.stdout).to.contain(`engine: ready: ${path.join(dir, "bin")}`);
    expect((Date.now() - started) / 1000).to.be.below(10);
  });
});
