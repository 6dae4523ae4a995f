import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { DEPLOY_STEPS, destroyScript, hostSteps, HostStepsArgs } from "../../deploy/hostSteps";
import { projectRoot } from "../../lib/paths";
import { blockedLine } from "../../remote/sh";
import { splitSteps, transactionScript } from "../../remote/transaction";
import {
  builtRelease,
  deploySteps,
  KILL_SWITCH,
  OPERATOR,
  settings,
  TRUSTED_SPKI,
} from "../helpers/release";
import { tempDir } from "../helpers/repo";

/** The README's account of the deploy: the section up to its first subsection. */
function readmeDeploy(): string {
  const readme = fs.readFileSync(path.join(projectRoot(), "README.md"), "utf8");
  const start = readme.indexOf("\n## The deploy (G5 to G7)\n");
  expect(start, "README.md has no section ## The deploy (G5 to G7)").to.not.equal(-1);
  return readme.slice(start, readme.indexOf("\n### ", start));
}

/** A release that is not on the server: its stage step refuses for want of the upload. */
const MISSING = { releaseId: "r1", commit: "c".repeat(40), sha256: "d".repeat(64) };

const args = (root: string, over: Partial<HostStepsArgs> = {}): HostStepsArgs => ({
  deploy: settings(root),
  artifact: MISSING,
  manifest: "",
  links: "",
  entries: "",
  lock: { ...OPERATOR, artifact: MISSING.sha256 },
  exclude: [],
  invariantsBefore: [],
  driftReconciled: false,
  reupload: "pulumi up --replace 'urn:x'",
  ...over,
});

const COMMAND = [{ name: "prepare", command: "true", timeoutSeconds: 60 }];

/** A host with every step declared: a beforeSwitch command, and a key it trusts. */
const ALL = args("/srv/app", {
  deploy: settings("/srv/app", { beforeSwitch: COMMAND }),
  trustedKeys: { keys: [TRUSTED_SPKI], configPath: "hosts[0].trustedKeys" },
});

/** Runs a script with sh on this machine: its status and each step's output. */
function sh(text: string) {
  const r = spawnSync("sh", ["-s"], { input: text, encoding: "utf8" });
  return { code: r.status, steps: splitSteps(r.stdout), stdout: r.stdout };
}

describe("the steps of a host's deploy, as hostSteps orders them", () => {
  it("are the steps of the README's numbered list of the deploy, under its titles and in its order", () => {
    const items = [...readmeDeploy().matchAll(/^(\d+)\. \*\*([^*]+)\*\*/gm)];
    expect(items.map((m) => Number(m[1]))).to.deep.equal(items.map((_, i) => i + 1));
    expect(items.map((m) => m[2])).to.deep.equal(DEPLOY_STEPS.map((s) => s.title));
  });

  it("give the lock back on a refusal in exactly the steps the README numbers for it", () => {
    const m = /A refusal in steps (\d+) to (\d+)/.exec(readmeDeploy());
    expect(m, "the README no longer says which refusals give the lock back").to.not.equal(null);
    const [from, to] = [Number(m![1]), Number(m![2])];
    const numbers = DEPLOY_STEPS.flatMap((s, i) => (s.refusalUnlocks ? [i + 1] : []));
    expect(numbers).to.deep.equal(Array.from({ length: to - from + 1 }, (_, i) => from + i));
  });

  it("run every step of DEPLOY_STEPS, in its order, when a beforeSwitch command is declared and the host trusts a key", () => {
    const steps = hostSteps(ALL);
    expect(steps.map((s) => s.name)).to.deep.equal(DEPLOY_STEPS.map((s) => s.name));
  });

  it("leave out only the BeforeSwitch step when no beforeSwitch command is declared", () => {
    expect(hostSteps({ ...ALL, deploy: settings("/srv/app") }).map((s) => s.name)).to.deep.equal(
      DEPLOY_STEPS.filter((s) => s.title !== "BeforeSwitch").map((s) => s.name),
    );
  });

  it("leave out only the Signature step when the host trusts no key", () => {
    for (const trustedKeys of [undefined, { keys: [], configPath: "trustedKeys" }])
      expect(hostSteps({ ...ALL, trustedKeys }).map((s) => s.name)).to.deep.equal(
        DEPLOY_STEPS.filter((s) => s.title !== "Signature").map((s) => s.name),
      );
  });

  it("give a refusal handler to exactly the steps marked to give the lock back", () => {
    const steps = hostSteps(ALL);
    expect(steps.filter((s) => s.onRefusal !== undefined).map((s) => s.name)).to.deep.equal(
      DEPLOY_STEPS.filter((s) => s.refusalUnlocks).map((s) => s.name),
    );
  });

  describe("run with sh on this machine, as a local target runs them", () => {
    const release = builtRelease();
    const uploaded = () => release.uploaded();

    it("end at a refusal before the switch, giving the lock back and printing what the server holds", () => {
      const root = path.join(tempDir(), "app");
      const r = sh(transactionScript(hostSteps(args(root))));
      expect(r.code).to.equal(3);
      expect(blockedLine(r.stdout)).to.match(
        /^artifact \S+ is not on the server; current was not switched;/,
      );
      expect(Object.keys(r.steps)).to.deep.equal(["lock", "backup", "stage"]);
      expect(fs.existsSync(path.join(root, ".deploy", "lock"))).to.equal(false);
      expect(r.stdout).to.match(
        new RegExp(
          `^after the refusal: current -> nothing; ${root}/shared/${KILL_SWITCH.file} reads nothing$`,
          "m",
        ),
      );
    });

    it("prepare the staged release between the kill-switch and the staged probes, before current exists", () => {
      const root = uploaded();
      const beforeSwitch = [
        {
          name: "venv",
          command:
            "mkdir .venv; if [ -e ../../current ]; then echo live; else echo none; fi >.venv/seen",
          timeoutSeconds: 60,
        },
      ];
      const steps = deploySteps(root, release.built, OPERATOR, { beforeSwitch });
      const r = sh(transactionScript(steps));
      expect(r.code, r.stdout).to.equal(0);
      const ran = Object.keys(r.steps);
      expect(ran).to.deep.equal(steps.map((s) => s.name));
      const at = ran.indexOf("killswitch");
      expect(ran.slice(at, at + 3)).to.deep.equal(["killswitch", "before-switch", "staged-proof"]);
      expect(r.steps["before-switch"]).to.match(/^before_switch=done$/m);
      expect(fs.readFileSync(path.join(root, "current", ".venv", "seen"), "utf8")).to.equal(
        "none\n",
      );
    });

    it("keep the lock when a check after the switch fails, and run no step after it", () => {
      const root = uploaded();
      const probes = [
        {
          name: "health",
          command: "exit 1",
          expectExit: 0,
          when: "live" as const,
          timeoutSeconds: 60,
        },
      ];
      const steps = deploySteps(root, release.built, OPERATOR, { probes });
      const r = sh(transactionScript(steps));
      expect(r.code).to.equal(3);
      expect(blockedLine(r.stdout)).to.match(/^probe health exited 1 /);
      expect(Object.keys(r.steps)).to.deep.equal(
        steps.slice(0, steps.findIndex((s) => s.name === "proof") + 1).map((s) => s.name),
      );
      expect(fs.readlinkSync(path.join(root, "current"))).to.equal(
        `releases/${release.built.releaseId}`,
      );
      expect(fs.readFileSync(path.join(root, ".deploy", "lock", "info"), "utf8")).to.contain(
        `token=${OPERATOR.token}`,
      );
    });

    it("write the kill-switch OFF at destroy, and run no other step then", () => {
      const root = path.join(tempDir(), "app");
      fs.mkdirSync(path.join(root, "shared"), { recursive: true });
      const on = { ...KILL_SWITCH, value: true };
      fs.writeFileSync(path.join(root, "shared", on.file), '{"execution_enabled":true}\n');
      const steps = hostSteps(args(root, { deploy: { ...settings(root), killSwitch: on } }));
      const r = sh(destroyScript(steps));
      expect(r.code).to.equal(0);
      expect(Object.keys(r.steps)).to.deep.equal(["killswitch"]);
      expect(fs.readFileSync(path.join(root, "shared", on.file), "utf8")).to.equal(
        '{"execution_enabled":false}\n',
      );
    });
  });
});
