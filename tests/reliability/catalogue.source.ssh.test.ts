import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PATH_RULE } from "../../config/pathRule";
import { KEY_SPECS } from "../../config/stack";
import { TRUSTED_KEY_FIX } from "../../config/deploySpecs";
import { expectRunRefused } from "../helpers/catalogue";
import { snapshot } from "../helpers/release";
import { engineStack, sshStackConfig, sshSuite, web1Hosts } from "../helpers/stack";

const PASSWORD = ["hunter", "-s3cr3t", "-42"].join("");

/** One bad input: what it changes, and the exact refusal it must get. */
interface Case {
  name: string;
  category: "config" | "repository";
  /** Config keys added or replaced; a key set to undefined is removed. */
  config?: () => Record<string, string | undefined>;
  /** Changes the source repo before the run (it is reset after). */
  arrange?: () => void;
  refusal: () => string | RegExp;
}

describe("bad input on the source side: each refused with its exact text, the server unchanged", function () {
  this.timeout(180_000);
  const suite = sshSuite();
  const held = engineStack();
  let v1: string;

  before(async () => {
    v1 = suite.repo.head();
    const first = await held.stack.up(sshStackConfig(suite.repo.dir, suite.work, suite.sshd));
    if (first.error) throw first.error;
  });

  afterEach(() => {
    suite.repo.git("checkout", "-q", "-f", "main");
    suite.repo.git("reset", "-q", "--hard", v1);
    suite.repo.git("clean", "-q", "-fd");
  });

  const key = (k: string) => `- config key "ssot-deploy:${k}" must be`;
  // The CLI checks the settings against Pulumi.yaml before the program runs: a required key
  // (one with no default) unset, or a value not of the declared type, is refused there.
  const cli = (problem: string) => `validating stack config: Stack '${held.stack.name}' ${problem}`;
  const host = (over: Record<string, unknown>) => web1Hosts(suite.sshd, over);

  const cases: Case[] = [
    {
      name: "the repo key is missing, by the CLI",
      category: "config",
      config: () => ({ repo: undefined }),
      refusal: () => cli("is missing configuration value 'repo'"),
    },
    {
      name: "keepReleases is not a number, by the CLI",
      category: "config",
      config: () => ({ keepReleases: "many" }),
      refusal: () => cli("with configuration key 'keepReleases' must be of type 'integer'"),
    },
    {
      name: "keepReleases is below 2",
      category: "config",
      config: () => ({ keepReleases: "1" }),
      refusal: () =>
        `${key("keepReleases")} an integer of at least 2 (the live release and the one before it) (got "1"). Fix: pulumi config set keepReleases 5`,
    },
    {
      name: "hosts is not a list, by the CLI",
      category: "config",
      config: () => ({ hosts: "web1:22" }),
      refusal: () => cli("with configuration key 'hosts' must be of type 'array<object>'"),
    },
    {
      name: "a host's port is not a number",
      category: "config",
      config: () => ({ hosts: host({ port: "ssh" }) }),
      refusal: () =>
        `${key("hosts")} a list of {name, host, port, user, hostKey, trustedKeys (optional)} with unique names, hostKey as "ssh-ed25519 AAAA…" (ssh-keyscan prints it) (got hosts[0].port = "ssh"). Fix: pulumi config set --path 'hosts[0].name' web1 (and host, port, user, hostKey the same way)`,
    },
    {
      name: "deployRoot is relative for target ssh",
      category: "config",
      config: () => ({ deployRoot: "srv/app" }),
      refusal: () =>
        `${key("deployRoot")} an absolute path for target ssh (got "srv/app"). Fix: pulumi config set deployRoot /srv/app`,
    },
    {
      name: "deployRoot is /",
      category: "config",
      config: () => ({ deployRoot: "/" }),
      refusal: () =>
        `${key("deployRoot")} a directory path with ${PATH_RULE} (absolute for target ssh) (got "/": it names /). Fix: pulumi config set deployRoot /srv/app`,
    },
    {
      name: "deployRoot climbs out with ..",
      category: "config",
      config: () => ({ deployRoot: `${suite.root}/../../etc` }),
      refusal: () =>
        `${key("deployRoot")} a directory path with ${PATH_RULE} (absolute for target ssh) (got ${JSON.stringify(`${suite.root}/../../etc`)}: it has a '..' segment). Fix: pulumi config set deployRoot /srv/app`,
    },
    {
      name: "deployRoot ends with a newline",
      category: "config",
      config: () => ({ deployRoot: `${suite.root}\n` }),
      refusal: () =>
        `${key("deployRoot")} a directory path with ${PATH_RULE} (absolute for target ssh) (got ${JSON.stringify(`${suite.root}\n`)}: it holds the control character U+000A). Fix: pulumi config set deployRoot /srv/app`,
    },
    {
      name: "deployRoot ends with a space",
      category: "config",
      config: () => ({ deployRoot: `${suite.root} ` }),
      refusal: () =>
        `${key("deployRoot")} a directory path with ${PATH_RULE} (absolute for target ssh) (got ${JSON.stringify(`${suite.root} `)}: it ends with whitespace). Fix: pulumi config set deployRoot /srv/app`,
    },
    {
      name: "deployRoot has an empty segment",
      category: "config",
      config: () => ({ deployRoot: suite.root.replace("/srv/", "/srv//") }),
      refusal: () =>
        `${key("deployRoot")} a directory path with ${PATH_RULE} (absolute for target ssh) (got ${JSON.stringify(suite.root.replace("/srv/", "/srv//"))}: it has an empty segment ('//')). Fix: pulumi config set deployRoot /srv/app`,
    },
    {
      name: "the stack names no target, by the CLI",
      category: "config",
      config: () => ({ target: undefined }),
      refusal: () => cli("is missing configuration value 'target'"),
    },
    {
      name: "a key is misspelt, so its value would be ignored",
      category: "config",
      config: () => ({ expectedTest: "30" }),
      refusal: () =>
        `- config key "ssot-deploy:expectedTest" must be one of the keys Pulumi.yaml declares (did you mean expectedTests?). Fix: pulumi config rm expectedTest, then pulumi config set expectedTests <its value>`,
    },
    {
      name: "a probe's field is misspelt, so its output check would be dropped",
      category: "config",
      config: () => ({
        proof: JSON.stringify([{ name: "answers", command: "true", expectedOutput: "^ok$" }]),
      }),
      refusal: () =>
        `${key("proof")} ${KEY_SPECS.proof.rule} (got proof[0].expectedOutput, a field proof[0] does not have: did you mean expectOutput?). Fix: pulumi config rm --path 'proof[0].expectedOutput', then pulumi config set --path 'proof[0].expectOutput' <its value>`,
    },
    {
      name: "a second beforeSwitch command's timeout is misspelt, so its default would be used",
      category: "config",
      config: () => ({
        beforeSwitch: JSON.stringify([
          { name: "first", command: "true" },
          { name: "second", command: "true", timeoutSecond: 30 },
        ]),
      }),
      refusal: () =>
        `${key("beforeSwitch")} ${KEY_SPECS.beforeSwitch.rule} (got beforeSwitch[1].timeoutSecond, a field beforeSwitch[1] does not have: did you mean timeoutSeconds?). Fix: pulumi config rm --path 'beforeSwitch[1].timeoutSecond', then pulumi config set --path 'beforeSwitch[1].timeoutSeconds' <its value>`,
    },
    {
      name: "a required key is misspelt, by the CLI, which names the missing key alone",
      category: "config",
      config: () => ({ testCommand: undefined, testComand: "python3 -m unittest" }),
      refusal: () => cli("is missing configuration value 'testCommand'"),
    },
    {
      name: "a shared file's path climbs out of the release",
      category: "config",
      config: () => ({ sharedFiles: '["../../etc/passwd"]' }),
      refusal: () =>
        `${key("sharedFiles")} a list of relative paths with ${PATH_RULE} (got sharedFiles[0] = "../../etc/passwd": it has a '..' segment). Fix: pulumi config set --path 'sharedFiles[0]' .env`,
    },
    {
      name: "a host's name climbs out of its directory",
      category: "config",
      config: () => ({ hosts: host({ name: "../web1" }) }),
      refusal: () =>
        `${key("hosts")} a list of {name, host, port, user, hostKey, trustedKeys (optional)} with unique names, hostKey as "ssh-ed25519 AAAA…" (ssh-keyscan prints it) (got hosts[0].name = "../web1": it holds a '/'). Fix: pulumi config set --path 'hosts[0].name' web1 (and host, port, user, hostKey the same way)`,
    },
    {
      name: "a host's trusted key is not an ed25519 public key",
      category: "config",
      config: () => ({ hosts: host({ trustedKeys: ["ssh-rsa AAAAB3NzaC1yc2E op@laptop"] }) }),
      refusal: () =>
        `${key("hosts")} an ed25519 public key on one line: the base64 of its SPKI DER, or an ssh-ed25519 line ` +
        `(got hosts[0].trustedKeys[0] = "ssh-rsa AAAAB3NzaC1yc2E op@laptop": an ssh-rsa line, not a well-formed ssh-ed25519 one). ` +
        `Fix: ${TRUSTED_KEY_FIX("hosts[0].trustedKeys[0]")}`,
    },
    {
      name: "the kill-switch file's path climbs out of shared/",
      category: "config",
      config: () => ({
        killSwitch:
          '{"file":"../kill.json","key":"execution_enabled","format":"json","value":false}',
      }),
      refusal: () =>
        `${key("killSwitch")} an object {file, key, format: "json"|"env", value: boolean}, file a relative path with ${PATH_RULE} (got killSwitch.file = "../kill.json": it has a '..' segment). Fix: pulumi config set --path killSwitch.value false`,
    },
    {
      name: "the kill-switch is turned on without its confirmation key",
      category: "config",
      config: () => ({
        killSwitch:
          '{"file":"kill-switch.json","key":"execution_enabled","format":"json","value":true}',
      }),
      refusal: () =>
        `${key("allowLiveExecution")} true to deploy with killSwitch.value true, which turns live execution on (got false). Fix: keep the kill-switch off (pulumi config set --path killSwitch.value false), or confirm the risk: pulumi config set allowLiveExecution true`,
    },
    {
      name: "the repo does not exist on this machine",
      category: "repository",
      config: () => ({ repo: path.join(suite.work, "no-such-repo") }),
      refusal: () =>
        `the SSOT repo ${path.join(suite.work, "no-such-repo")} does not exist on this machine (${os.hostname()}); the deploy must run from the machine that holds the SSOT repo`,
    },
    {
      name: "the repo is not a git repository",
      category: "repository",
      config: () => ({ repo: suite.work }),
      refusal: () => `repo ${suite.work} is not a git repository`,
    },
    {
      name: "a tracked file has uncommitted changes",
      category: "repository",
      arrange: () => fs.appendFileSync(path.join(suite.repo.dir, "app/service.py"), "# edited\n"),
      refusal: () =>
        `1 tracked file(s) in ${suite.repo.dir} have uncommitted changes: app/service.py`,
    },
    {
      name: "the ref names no commit",
      category: "repository",
      config: () => ({ ref: "v9.9.9" }),
      refusal: () => `ref "v9.9.9" does not resolve to a commit in ${suite.repo.dir}`,
    },
    {
      name: "the ref is off the mainline",
      category: "repository",
      arrange: () => {
        suite.repo.git("checkout", "-q", "-b", "experiment");
        suite.repo.commit("experiment", { "app/extra.py": "x = 1\n" });
        suite.repo.git("checkout", "-q", "main");
      },
      config: () => ({ ref: "experiment" }),
      refusal: () =>
        `commit ${suite.repo.git("rev-parse", "experiment").trim().slice(0, 12)} (ref experiment) is not reachable from main`,
    },
    {
      name: "the tests fail",
      category: "repository",
      arrange: () =>
        suite.repo.commit("break", {
          "tests/test_broken.py":
            "import unittest\nclass B(unittest.TestCase):\n    def test_x(self):\n        self.fail('broken')\n",
        }),
      // The last lines hold unittest's own timing.
      refusal: () =>
        /^tests failed: 3 passed, 1 failed of 4 \(exit 1\); last lines:\n[\s\S]*\n {4}AssertionError: broken\n[\s\S]*\n {4}FAILED \(failures=1\)$/,
    },
    {
      name: "fewer tests ran than expected",
      category: "repository",
      config: () => ({ expectedTests: "394" }),
      refusal: () => "ran 3 tests, fewer than expectedTests=394",
    },
    {
      name: "a secret is committed",
      category: "repository",
      arrange: () =>
        suite.repo.commit("settings", {
          "app/settings.py": `MODE = "SIM"\nDB_PASSWORD = "${PASSWORD}"\n`,
        }),
      refusal: () =>
        "secret scan found 1 finding(s) in files that would ship: app/settings.py:2 (ssot/password-assignment)",
    },
  ];

  for (const c of cases) {
    it(`refuses when ${c.name}`, async () => {
      c.arrange?.();
      const config: Record<string, string> = sshStackConfig(suite.repo.dir, suite.work, suite.sshd);
      for (const [k, v] of Object.entries(c.config?.() ?? {}))
        if (v === undefined) delete config[k];
        else config[k] = v;
      const before = snapshot(suite.root);
      const run = await held.stack.up(config);
      expectRunRefused(c.category, run, c.refusal(), before, snapshot(suite.root));
    });
  }
});
