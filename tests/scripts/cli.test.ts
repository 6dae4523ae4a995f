import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { projectRoot } from "../../lib/paths";

const SCRIPTS = ["local", "reconcile", "verify", "history", "status", "lock"];

/** Runs `npm run <script> -- <args>` as node runs it, from the compiled entry point. */
const run = (script: string, args: string[]) => {
  const r = spawnSync(
    process.execPath,
    [path.join(projectRoot(), "dist", "scripts", `${script}.js`), ...args],
    {
      encoding: "utf8",
    },
  );
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe("the commands' command lines", () => {
  for (const script of SCRIPTS) {
    it(`npm run ${script} -- --help prints its usage and exits 0`, () => {
      const r = run(script, ["--help"]);
      expect(r.code).to.equal(0);
      expect(r.out.split("\n")[0]).to.match(new RegExp(`^usage: npm run ${script} --`));
      expect(r.out).to.contain("exit status: 0 done, 1 refused or a check failed, 2 a usage error");
    });

    it(`npm run ${script} refuses an unknown option with its usage and exit 2`, () => {
      const r = run(script, ["--bogus"]);
      expect(r.code).to.equal(2);
      expect(r.err).to.match(/^Unknown option '--bogus'/);
      expect(r.err).to.contain(`usage: npm run ${script} --`);
    });
  }

  const missing: [string, string[], string][] = [
    [
      "verify",
      ["--attestation", "/nonexistent/attestation.json"],
      "--attestation /nonexistent/attestation.json does not exist; save one first: pulumi stack output attestation --json > attestation.json",
    ],
    [
      "history",
      ["--stack", "local", "--from-file", "/nonexistent/history.json"],
      "--from-file /nonexistent/history.json does not exist; save it with pulumi stack history --json > history.json",
    ],
    ["status", [], "--stack is required"],
    ["lock", ["--stack", "local"], "the first argument must be one of status, release"],
  ];
  for (const [script, args, message] of missing) {
    it(`npm run ${script} names what is missing and what to pass instead, exit 2: ${message.slice(0, 40)}…`, () => {
      const r = run(script, args);
      expect(r.code).to.equal(2);
      expect(r.err.split("\n")[0]).to.equal(message);
    });
  }

  it("names the stacks this project has when --stack names none of them", () => {
    const r = run("status", ["--stack", "nosuch"]);
    expect(r.code).to.equal(2);
    expect(r.err.split("\n")[0]).to.equal(
      `there is no stack nosuch in this project (${path.join(projectRoot(), "Pulumi.nosuch.yaml")} does not exist); name one of: contabo, local`,
    );
  });

  it("refuses a stack whose servers cannot be reached yet, naming each value still to fill in, exit 1", () => {
    const r = run("status", [
      "--stack",
      "contabo",
      "--key",
      path.join(projectRoot(), "package.json"),
    ]);
    expect(r.code).to.equal(1);
    expect(r.err).to.contain(
      `- config key "ssot-deploy:hosts" must be filled in (got hosts[0].host = "<fill in: the address of vmi3080463>")`,
    );
  });
});
