import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../../lib/paths";
import {
  ENGINE_DIR,
  EngineMissing,
  findEngine,
  LOCAL_BACKEND_DIR,
  LOCAL_PASSPHRASE_FILE,
  runPulumi,
  withBackend,
  withLocalBackend,
} from "../../tools/engine";
import { tempDir } from "../helpers/repo";

const ROOT = projectRoot();
const PULUMI = path.join(ROOT, "dist", "scripts", "pulumi.js");

describe("the engine npm run engine built, and npm run pulumi", function () {
  this.timeout(60_000);
  let scratch: string;
  beforeEach(() => (scratch = tempDir()));
  afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it("refuses an engine that is not built, naming the missing piece and both ways to get one", () => {
    const base = { PATH: "/usr/bin", SSOT_ENGINE_DIR: scratch };
    expect(() => findEngine(ROOT, base))
      .to.throw(EngineMissing)
      .with.property("message")
      .that.contains(`${path.join(scratch, "bin", "pulumi")} is missing; run npm run engine`)
      .and.contains("or set SSOT_PULUMI to the path of a pulumi CLI you have");
  });

  it("runs the CLI with its language host first on PATH, its own PULUMI_HOME, no update check and no ambient plugin", () => {
    const e = findEngine(ROOT, { PATH: "/usr/bin", HOME: scratch });
    const dir = path.join(ROOT, ENGINE_DIR);
    expect(e.cli).to.equal(path.join(dir, "bin", "pulumi"));
    expect(e.env).to.include({
      PATH: `${path.join(dir, "bin")}:/usr/bin`,
      PULUMI_HOME: path.join(dir, "home"),
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
    });
    expect(fs.existsSync(path.join(e.env.PATH!.split(":")[0], "pulumi-language-nodejs"))).to.equal(
      true,
    );
  });

  it("finds the command provider in its own plugin cache, leaving the user's ~/.pulumi untouched", async () => {
    const e = findEngine(ROOT, { PATH: "/usr/bin", HOME: scratch });
    const r = await runPulumi(e, ["plugin", "ls", "--json"], { cwd: scratch });
    expect(r.code, r.stderr).to.equal(0);
    const plugins = JSON.parse(r.stdout) as { name: string; kind: string; version: string }[];
    expect(plugins.map((p) => `${p.kind} ${p.name} ${p.version}`)).to.deep.equal([
      "resource command 1.2.1",
    ]);
    expect(fs.existsSync(path.join(scratch, ".pulumi"))).to.equal(false);
  });

  it("keeps PULUMI_BACKEND_URL, then the backend it logged in to, and else takes the project's file backend", () => {
    const home = path.join(scratch, "home");
    const e = { cli: "pulumi", home, env: { PATH: "/usr/bin" } as NodeJS.ProcessEnv };
    const local = withBackend(e, scratch);
    expect(local.backend).to.equal(`file://${path.join(scratch, LOCAL_BACKEND_DIR)}`);
    expect(local.env.PULUMI_BACKEND_URL).to.equal(local.backend);
    expect(local.env.PULUMI_CONFIG_PASSPHRASE_FILE).to.equal(undefined);
    // Its passphrase file, once npm run local has made it, unless a passphrase is given.
    fs.mkdirSync(path.dirname(path.join(scratch, LOCAL_PASSPHRASE_FILE)), { recursive: true });
    fs.writeFileSync(path.join(scratch, LOCAL_PASSPHRASE_FILE), "p\n");
    expect(withBackend(e, scratch).env.PULUMI_CONFIG_PASSPHRASE_FILE).to.equal(
      path.join(scratch, LOCAL_PASSPHRASE_FILE),
    );
    const given = { ...e, env: { PULUMI_CONFIG_PASSPHRASE: "x" } };
    expect(withBackend(given, scratch).env.PULUMI_CONFIG_PASSPHRASE_FILE).to.equal(undefined);
    fs.mkdirSync(home);
    fs.writeFileSync(
      path.join(home, "credentials.json"),
      JSON.stringify({ current: "s3://team-state?region=eu" }),
    );
    const logged = withBackend(e, scratch);
    expect(logged.backend).to.equal("s3://team-state?region=eu");
    expect(logged.env.PULUMI_BACKEND_URL).to.equal(undefined);
    const chosen = withBackend({ ...e, env: { PULUMI_BACKEND_URL: "file:///elsewhere" } }, scratch);
    expect(chosen.backend).to.equal("file:///elsewhere");
  });

  it("keeps npm run local on the project's file backend, whatever backend the operator chose for the team", () => {
    const home = path.join(scratch, "team-home");
    fs.mkdirSync(home, { recursive: true });
    fs.writeFileSync(
      path.join(home, "credentials.json"),
      JSON.stringify({ current: "s3://team-state?region=eu" }),
    );
    const file = `file://${path.join(scratch, LOCAL_BACKEND_DIR)}`;
    for (const env of [{}, { PULUMI_BACKEND_URL: "s3://team-state?region=eu" }]) {
      const e = { cli: "pulumi", home, env: { PATH: "/usr/bin", ...env } as NodeJS.ProcessEnv };
      expect(withBackend(e, scratch).backend).to.equal("s3://team-state?region=eu");
      const local = withLocalBackend(e, scratch);
      expect([local.backend, local.env.PULUMI_BACKEND_URL]).to.deep.equal([file, file]);
    }
  });

  it("passes npm run pulumi's arguments to the CLI and its exit status back", () => {
    const version = spawnSync(process.execPath, [PULUMI, "version"], { encoding: "utf8" });
    expect([version.status, version.stdout.trim()]).to.deep.equal([0, "v3.248.0"]);
    const refused = spawnSync(process.execPath, [PULUMI, "no-such-command"], { encoding: "utf8" });
    expect(refused.status).to.not.equal(0);
    expect(refused.stderr).to.contain('unknown command "no-such-command"');
  });
});
