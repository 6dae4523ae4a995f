import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { DEFAULTS, parseSourceConfig } from "../components/config";
import { DEPLOY_DEFAULTS } from "../components/deployConfig";
import { ConfigError } from "../components/errors";
import { KNOWN_KEYS } from "../components/stackConfig";

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
  it("applies every default when only the required keys are set", () => {
    const c = parseSourceConfig(base, "/cwd");
    expect(c).to.deep.equal({
      repo: "/srv/app",
      ref: "HEAD",
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
    const project = yaml.load(
      fs.readFileSync(path.join(__dirname, "..", "..", "Pulumi.yaml"), "utf8"),
    ) as {
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
    expect(defaults).to.deep.equal({
      ...DEFAULTS,
      ...DEPLOY_DEFAULTS,
      sshPrivateKey: "",
      sshPassphrase: "",
      attestationKey: "",
    });
    expect(Object.keys(declared).filter((k) => declared[k].default === undefined)).to.deep.equal([
      "repo",
      "testCommand",
      "target",
      "deployRoot",
    ]);
    expect(Object.keys(declared).sort()).to.deep.equal([...KNOWN_KEYS].sort());
  });
});
