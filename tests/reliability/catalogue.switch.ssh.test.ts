import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { expectRunRefused, liveState, refusalOf } from "../helpers/catalogue";
import { snapshot } from "../helpers/release";
import { rootOnly } from "../helpers/root";
import { asUnprivilegedUser, deployedSuite, web1Hosts } from "../helpers/stack";

const NOCREATE = "ssot-nocreate";

describe("bad input at the deploy root and before the switch: refused with current where it was", function () {
  this.timeout(180_000);
  const s = deployedSuite();
  const up = (over: Record<string, string> = {}) => s.up(over);

  describe("the deploy root", () => {
    // A plain file where the root, or a directory above it, must be.
    const blocked: [string, string, (file: string) => string, (file: string) => string][] = [
      [
        "refuses a deployRoot that is a file, at G0, before anything is created",
        "odd-1",
        (file) => file,
        (file) => `deployRoot ${file} is`,
      ],
      [
        "refuses a deployRoot under a file, naming the file",
        "odd-2",
        (file) => path.join(file, "app"),
        (file) => `${file}, above deployRoot ${file}/app, is`,
      ],
    ];
    for (const [name, folder, rootOf, what] of blocked) {
      it(name, async () => {
        const dir = path.join(s.work, folder);
        const file = path.join(dir, "plain");
        fs.mkdirSync(dir);
        fs.writeFileSync(file, "x\n");
        const before = snapshot(dir);
        const run = await up({ deployRoot: rootOf(file) });
        expectRunRefused(
          "server",
          run,
          `server web1: ${what(file)} a regular file, not a directory, so the layout cannot be created there; nothing was changed`,
          before,
          snapshot(dir),
        );
        expect(run.error?.message).to.contain(
          `next action: move ${file} out of the way on web1, or set deployRoot to a directory path that is free: pulumi config set deployRoot /srv/app`,
        );
      });
    }

    it("refuses a deployRoot the login user has no permission to create", async function () {
      rootOnly(this); // it adds a login user
      const parent = path.join(s.work, "root-owned");
      fs.mkdirSync(parent, { mode: 0o755 });
      await asUnprivilegedUser(s, NOCREATE, async () => {
        const before = snapshot(parent);
        const run = await up({
          hosts: web1Hosts(s.sshd, { user: NOCREATE }),
          deployRoot: path.join(parent, "app"),
        });
        expectRunRefused(
          "server",
          run,
          `server web1: ${NOCREATE} cannot write to ${parent}, which the deploy under ${parent}/app needs; nothing was changed`,
          before,
          snapshot(parent),
        );
      });
    });
  });

  describe("checks that run before the switch", () => {
    it("refuses a release whose staged probe fails, with current where it was and the lock given back", async () => {
      s.repo.commit("v2", { "app/extra.py": "X = 2\n" });
      const before = liveState(s.root);
      const run = await up({
        proof: JSON.stringify([{ name: "imports", command: "python3 -c 'import app.never'" }]),
      });
      expectRunRefused(
        "proof",
        run,
        /^probe imports exited 1 in the staged release, expected 0 \(last line: ModuleNotFoundError: No module named 'app\.never'\); current was not switched; fix the release in the SSOT repo, commit, then run pulumi up again$/,
        before,
        liveState(s.root),
      );
      // What the server holds after the refusal is printed with it.
      expect(run.error?.message).to.match(
        /^after the refusal: current -> releases\/\S+; \S+\/shared\/kill-switch\.json reads \{"execution_enabled":false\}$/m,
      );
      // Never proved, so neither retention nor a rollback counts it as good.
      const proved = fs.readFileSync(path.join(s.root, ".deploy", "proved"), "utf8");
      expect(proved).to.not.contain(s.repo.head().slice(0, 12));
    });

    it("kills a staged probe that hangs past its timeout with its process group, and refuses before the switch", async () => {
      s.repo.commit("v2", { "app/extra.py": "X = 2\n" });
      const before = liveState(s.root);
      const run = await up({
        proof: JSON.stringify([{ name: "warmup", command: "sleep 98764", timeoutSeconds: 1 }]),
      });
      expectRunRefused(
        "proof",
        run,
        "probe warmup did not finish within 1s in the staged release and was killed with its process group (timeoutSeconds); current was not switched; " +
          "if the probe needs longer, raise its timeout: pulumi config set --path 'proof[0].timeoutSeconds' 2 (seconds, up to 86400), then run pulumi up again; " +
          "otherwise fix the release in the SSOT repo, commit, then run pulumi up again",
        before,
        liveState(s.root),
      );
      const left = spawnSync("pgrep", ["-f", "sleep 98764"], { encoding: "utf8" });
      expect(left.stdout).to.equal("");
    });

    it("refuses a release that a staged probe changed, before current moves to it", async () => {
      s.repo.commit("v2", { "app/extra.py": "X = 2\n" });
      const before = liveState(s.root);
      const run = await up({
        proof: JSON.stringify([{ name: "writes", command: "echo oops >> app/extra.py" }]),
      });
      expectRunRefused(
        "proof",
        run,
        "the staged probes changed the release's own files (app/extra.py) or added files no exclude names; current was not switched; a probe must only read the release, or write under a path exclude names",
        before,
        liveState(s.root),
      );
    });

    it("refuses when the kill-switch cannot be written as declared, before current moves", async () => {
      s.repo.commit("v2", { "app/extra.py": "X = 2\n" });
      const ks = path.join(s.root, "shared", "kill-switch.json");
      const original = fs.readFileSync(ks);
      fs.rmSync(ks);
      fs.mkdirSync(ks);
      try {
        const before = liveState(s.root);
        const run = await up();
        expectRunRefused(
          "proof",
          run,
          `the kill-switch file ${ks} is a directory, so execution_enabled=false cannot be written; current was not switched; make ${s.root}/shared a writable directory on the server, then run pulumi up again`,
          before,
          liveState(s.root),
        );
      } finally {
        fs.rmSync(ks, { recursive: true });
        fs.writeFileSync(ks, original);
      }
    });
  });

  describe("what must not be refused", () => {
    it("deploys a first release with an invariant, recording it as not measured rather than failing after the switch", async () => {
      const fresh = path.join(s.work, "fresh", "app");
      const invariants = JSON.stringify([{ name: "machine", command: "echo vm" }]);
      const run = await up({ deployRoot: fresh, invariants });
      expect(refusalOf(run.error), run.error?.message).to.equal(undefined);
      const web1 = run.outputs!.deploy!.web1;
      expect(web1.proof.invariants).to.deep.equal([{ name: "machine", outcome: "unmeasured" }]);
      expect(web1.lock).to.equal("released");
      const record = run.outputs!.attestation!.statements[2].statement.predicate as {
        hosts: { productionMutation: string }[];
      };
      expect(record.hosts[0].productionMutation).to.equal("UNMEASURED");
      // With a release live, the next deploy measures it.
      s.repo.commit("v2", { "app/extra.py": "X = 2\n" });
      const next = await up({ deployRoot: fresh, invariants });
      expect(next.error, next.error?.message).to.equal(undefined);
      expect(next.outputs!.deploy!.web1.proof.invariants).to.deep.equal([
        { name: "machine", outcome: "same" },
      ]);
    });

    it("does not read a file the exclude list names as drift: the survey and the deploy read one list", async () => {
      const exclude = JSON.stringify(["*.log"]);
      const first = await up({ exclude });
      expect(first.error, first.error?.message).to.equal(undefined);
      const log = path.join(s.root, "current", "app", "run.log");
      fs.writeFileSync(log, "written by the running app\n");
      try {
        s.repo.commit("v2", { "app/extra.py": "X = 2\n" });
        const run = await up({ exclude });
        expect(run.error, run.error?.message).to.equal(undefined);
        expect(run.outputs!.deploy!.web1.promoted).to.equal("switched");
      } finally {
        fs.rmSync(log, { force: true });
      }
    });
  });
});
