import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { DEFAULTS, parseSourceConfig } from "../../config/source";
import { DEPLOY_DEFAULTS } from "../../config/deploy";
import { ConfigError } from "../../config/errors";
import { KNOWN_KEYS, parseStackConfig, SECRET_KEYS } from "../../config/stack";
import { readStackFile } from "../../config/stackFile";
import { projectRoot } from "../../lib/paths";

const base = { repo: "/srv/app", testCommand: "make test" };

function problemsOf(raw: Record<string, string | undefined>): string[] {
  try {
    parseSourceConfig(raw, "/cwd");
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return (e as ConfigError).message.split("\n").slice(1);
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  it("reads release as a release id, and refuses anything else naming the key, the rule and the fix", () => {
    expect(
      parseSourceConfig({ ...base, release: "3f2a9c81d4e7-5b0c1d2e" }, "/cwd").release,
    ).to.equal("3f2a9c81d4e7-5b0c1d2e");
    const problems = problemsOf({ ...base, release: "HEAD~1" });
    expect(problems).to.have.length(1);
    expect(problems[0]).to.contain("ssot-deploy:release");
    expect(problems[0]).to.contain("a release id as npm run status lists it");
    expect(problems[0]).to.contain("pulumi config set release 3f2a9c81d4e7-5b0c1d2e");
  });

  it("applies every default when only the required keys are set", () => {
    const c = parseSourceConfig(base, "/cwd");
    expect(c).to.deep.equal({
      repo: "/srv/app",
      ref: "HEAD",
      release: undefined,
      branch: "main",
      baseRef: undefined,
      testCommand: "make test",
      expectedTests: undefined,
      testTimeoutSeconds: 900,
      exclude: [],
      workDir: "/cwd/.ssot-deploy",
      reportDir: "/cwd/reports",
    });
  });

  it("resolves a relative repo against the project directory", () => {
    expect(parseSourceConfig({ ...base, repo: "../src/app" }, "/work/deploy").repo).to.equal(
      "/work/src/app",
    );
  });

  it("reads exclude as a JSON list and expectedTests as a number", () => {
    const c = parseSourceConfig({ ...base, exclude: '["docs/**","*.log"]', expectedTests: "394" });
    expect(c.exclude).to.deep.equal(["docs/**", "*.log"]);
    expect(c.expectedTests).to.equal(394);
  });

  it("treats expectedTests 0 and an empty baseRef as unset, as Pulumi.yaml's defaults do", () => {
    const c = parseSourceConfig({ ...base, expectedTests: "0", baseRef: "" });
    expect(c.expectedTests).to.equal(undefined);
    expect(c.baseRef).to.equal(undefined);
  });

  const cases: [string, Record<string, string | undefined>, string][] = [
    [
      "names repo and testCommand when both are missing",
      {},
      '- config key "ssot-deploy:repo" must be set to the path of the SSOT git repository on this machine. Fix: pulumi config set repo /path/to/your/repo',
    ],
    [
      "refuses a non-numeric expectedTests",
      { ...base, expectedTests: "many" },
      '- config key "ssot-deploy:expectedTests" must be a whole number of tests, 0 for no minimum (got "many"). Fix: pulumi config set expectedTests 394',
    ],
    [
      "refuses a negative expectedTests",
      { ...base, expectedTests: "-1" },
      '- config key "ssot-deploy:expectedTests" must be a whole number of tests, 0 for no minimum (got "-1"). Fix: pulumi config set expectedTests 394',
    ],
    [
      "refuses a zero timeout",
      { ...base, testTimeoutSeconds: "0" },
      '- config key "ssot-deploy:testTimeoutSeconds" must be an integer number of seconds from 1 to 86400 (got "0"). Fix: pulumi config set testTimeoutSeconds 900',
    ],
    [
      "refuses a ref that git would read as an option",
      { ...base, ref: "--output=/tmp/x" },
      `- config key "ssot-deploy:ref" must be a commit, tag or branch name without whitespace or a leading '-' (got "--output=/tmp/x"). Fix: pulumi config set ref v1.2.0`,
    ],
    [
      "refuses an exclude that is not JSON",
      { ...base, exclude: "docs/**" },
      `- config key "ssot-deploy:exclude" must be a list of glob strings, none negated with '!' (got text that is not JSON). Fix: pulumi config set --path 'exclude[0]' 'docs/**'`,
    ],
    [
      "refuses a negated exclude, which could re-include a secret",
      { ...base, exclude: '["!.env"]' },
      `- config key "ssot-deploy:exclude" must be a list of glob strings, none negated with '!' (got exclude[0] = "!.env"). Fix: pulumi config set --path 'exclude[0]' 'docs/**'`,
    ],
  ];
  for (const [name, raw, line] of cases) {
    it(name, () => expect(problemsOf(raw)).to.include(line));
  }

  it("reports every problem at once, headed by BLOCKED and 'nothing was changed'", () => {
    try {
      parseSourceConfig({ expectedTests: "x" });
      expect.fail("no error");
    } catch (e) {
      const lines = (e as Error).message.split("\n");
      expect(lines[0]).to.equal(
        "BLOCKED: invalid configuration, 3 problem(s). Nothing was changed.",
      );
      expect(lines.slice(1).map((l) => /"ssot-deploy:(\w+)"/.exec(l)?.[1])).to.deep.equal([
        "expectedTests",
        "repo",
        "testCommand",
      ]);
    }
  });

  it("declares every key in Pulumi.yaml with a description, and the same defaults as the code", () => {
    const project = yaml.load(fs.readFileSync(path.join(projectRoot(), "Pulumi.yaml"), "utf8")) as {
      config: Record<string, { type: string; description: string; default?: unknown }>;
    };
    const declared = project.config;
    for (const [key, decl] of Object.entries(declared)) {
      expect(decl.description, key).to.be.a("string").and.not.equal("");
      expect(decl.type, key).to.be.oneOf(["string", "integer", "boolean", "array", "object"]);
    }
    const defaults = Object.fromEntries(
      Object.entries(declared)
        .filter(([, d]) => d.default !== undefined)
        .map(([k, d]) => [k, d.default]),
    );
    expect(defaults).to.deep.equal({ ...DEFAULTS, ...DEPLOY_DEFAULTS });
    expect(Object.keys(declared).filter((k) => declared[k].default === undefined)).to.deep.equal([
      "repo",
      "testCommand",
      "target",
      "deployRoot",
    ]);
    expect(Object.keys(declared).sort()).to.deep.equal(
      KNOWN_KEYS.filter((k) => !SECRET_KEYS.includes(k)).sort(),
    );
  });

  it("declares none of the optional secrets, which the CLI would refuse or require", () => {
    // A declared secret with a plain default is refused ("must be encrypted as it's secret"),
    // and one without a default is required of every stack: the program reads them unset as "".
    const text = fs.readFileSync(path.join(projectRoot(), "Pulumi.yaml"), "utf8");
    const project = yaml.load(text) as { config: Record<string, unknown> };
    expect(Object.keys(project.config)).to.not.include.members(SECRET_KEYS);
    for (const k of SECRET_KEYS) expect(text, k).to.contain(`#   ${k}:`);
  });
});

describe("the stack's config as a whole", () => {
  const ssh = {
    repo: "/srv/repo",
    testCommand: "make test",
    target: "ssh",
    hosts: JSON.stringify([
      { name: "web1", host: "10.0.0.5", port: 22, user: "deploy", hostKey: "ssh-ed25519 AAAA" },
    ]),
    deployRoot: "/srv/app",
  };
  const problems = (raw: Record<string, string>) => {
    try {
      parseStackConfig(raw, "/project");
    } catch (e) {
      return (e as ConfigError).message.split("\n").slice(1);
    }
    throw new Error("expected a ConfigError");
  };

  it("refuses a key of the namespace that Pulumi.yaml does not declare, naming the nearest", () => {
    expect(problems({ ...ssh, expectedTest: "30" })).to.deep.equal([
      '- config key "ssot-deploy:expectedTest" must be one of the keys Pulumi.yaml declares (did you mean expectedTests?). Fix: pulumi config rm expectedTest, then pulumi config set expectedTests <its value>',
    ]);
  });

  it("names no nearest key when none is close", () => {
    expect(problems({ ...ssh, colour: "blue" })).to.deep.equal([
      '- config key "ssot-deploy:colour" must be one of the keys Pulumi.yaml declares (see its config section). Fix: pulumi config rm colour',
    ]);
  });

  it("refuses the first releases' rollout names, saying what each became", () => {
    for (const old of ["serial", "parallel"]) {
      const [line] = problems({ ...ssh, rollout: old });
      expect(line).to.contain(
        'config key "ssot-deploy:rollout" must be "all-or-none" or "rolling"',
      );
      expect(line).to.contain('what was "serial" is rolling with batchSize 1');
      expect(line).to.contain(`(got "${old}")`);
    }
  });

  it("refuses a batch size other than 1 unless the rollout is rolling, and takes it then", () => {
    expect(problems({ ...ssh, batchSize: "3" })).to.deep.equal([
      '- config key "ssot-deploy:batchSize" must be set only with rollout rolling: all-or-none switches every host together (got 3). Fix: pulumi config set rollout rolling, or pulumi config rm batchSize',
    ]);
    const c = parseStackConfig({ ...ssh, rollout: "rolling", batchSize: "3" }, "/project");
    expect([c.deploy.rollout, c.deploy.batchSize]).to.deep.equal(["rolling", 3]);
  });

  it("refuses a stack that names no target, instead of deploying to this machine", () => {
    const none: Record<string, string> = { ...ssh };
    delete none.target;
    expect(problems(none)).to.deep.equal([
      '- config key "ssot-deploy:target" must be set to "ssh" (the servers in hosts) or "local" (a directory on this machine): nothing deploys where the stack does not say. Fix: pulumi config set target ssh, with hosts and deployRoot; or pulumi config set target local',
    ]);
  });

  it("refuses Pulumi.contabo.yaml exactly until its placeholders are filled in, and accepts it then", () => {
    const file = path.join(projectRoot(), "Pulumi.contabo.yaml");
    const raw = readStackFile(file);
    expect(raw.target).to.equal("ssh");
    expect(problems(raw)).to.deep.equal([
      `- config key "ssot-deploy:hosts" must be filled in (got hosts[0].host = "<fill in: the address of vmi3080463>"). Fix: pulumi config set --path 'hosts[0].host' <the address of vmi3080463>`,
      `- config key "ssot-deploy:hosts" must be filled in (got hosts[0].hostKey = "<fill in: the line ssh-keyscan -t ed25519 prints for that address, checked against the provider console>"). Fix: pulumi config set --path 'hosts[0].hostKey' <the line ssh-keyscan -t ed25519 prints for that address, checked against the provider console>`,
      `- config key "ssot-deploy:proof" must be filled in (got proof[0].command = "<fill in: a command that asks the service for Mode.LIVE and exits non-zero when refused>"). Fix: pulumi config set --path 'proof[0].command' <a command that asks the service for Mode.LIVE and exits non-zero when refused>`,
      `- config key "ssot-deploy:proof" must be filled in (got proof[1].command = "<fill in: a command that prints which backend Mode.LIVE is wired to>"). Fix: pulumi config set --path 'proof[1].command' <a command that prints which backend Mode.LIVE is wired to>`,
      `- config key "ssot-deploy:invariants" must be filled in (got invariants[0].command = "<fill in: a read-only command that prints the production row counts>"). Fix: pulumi config set --path 'invariants[0].command' <a read-only command that prints the production row counts>`,
    ]);
    const hosts = JSON.parse(raw.hosts) as Record<string, unknown>[];
    const filled = {
      ...raw,
      hosts: JSON.stringify([{ ...hosts[0], host: "203.0.113.10", hostKey: "ssh-ed25519 AAAA" }]),
      proof: raw.proof.replace(/<fill in: [^>]*>/g, "python3 -c pass"),
      invariants: raw.invariants.replace(/<fill in: [^>]*>/g, "echo 0"),
    };
    const { deploy } = parseStackConfig(filled, "/project");
    expect(deploy.killSwitch).to.deep.equal({
      file: "kill-switch.json",
      key: "execution_enabled",
      format: "json",
      value: false,
    });
    expect(deploy.deployRoot).to.equal("/srv/iu-cutter-v0.6");
    expect(deploy.proof.map((p) => p.name)).to.deep.equal([
      "live-refused-while-off",
      "live-reaches-adapter-seam",
    ]);
  });
});
