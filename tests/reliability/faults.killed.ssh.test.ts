import { expect } from "chai";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { lockInfoFor } from "../../deploy/endpoint";
import { projectRoot } from "../../lib/paths";
import { uploadPaths } from "../../remote/preamble";
import { expectVerified } from "../helpers/attest";
import { acted } from "../../testbed/events";
import {
  backendLocks,
  endLeftBehind,
  leftovers,
  liveRelease,
  lockedOut,
  lockInfo,
  Proc,
  processTree,
  running,
  Tripwires,
  until,
} from "../helpers/faults";
import { artifactOf } from "../helpers/release";
import { tempDir } from "../helpers/repo";
import { engineStack, sshStackConfig, sshSuite } from "../helpers/stack";
import { tally } from "../helpers/tally";

/** Where `pulumi up` is killed: the command line the deploy is held at, and the server then. */
interface Kill {
  when: string;
  step: string;
  pattern: string;
  /** Whether the transaction holds the server's lock at that point. */
  locked: boolean;
  /** Whether current already points at the new release at that point. */
  switched: boolean;
}

const KILLS: Kill[] = [
  {
    when: "after the upload, as the transaction starts",
    step: "CLI killed after the upload",
    // The lock step's first command: the transaction's first on the server.
    pattern: "^mkdir -p .*/\\.deploy$",
    locked: false,
    switched: false,
  },
  {
    when: "inside the transaction, during the staged probes before the switch",
    step: "CLI killed before the switch",
    pattern: "^cat README\\.md$",
    locked: true,
    switched: false,
  },
  {
    when: "after the switch, before the proof",
    step: "CLI killed after the switch",
    // Right after current moved, the revisions log's last entry is read to chain the new one.
    pattern: "^tail -n 1 .*/\\.deploy/revisions\\.jsonl$",
    locked: true,
    switched: true,
  },
];

const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");
const named = (procs: Proc[], plugin: string) => procs.find((p) => p.command.includes(plugin))!;

describe("pulumi up killed with kill -9 at each point of a deploy, then pulumi cancel and pulumi up, against a real sshd", function () {
  this.timeout(180_000);
  const wires = new Tripwires(tempDir("ssot-wires-"), ["mkdir", "cat", "tail"]);
  const suite = sshSuite({ path: wires.path });
  const held = engineStack();
  let config: Record<string, string>;
  let leftBehind: Proc[] = [];

  before(async () => {
    config = sshStackConfig(suite.repo.dir, suite.work, suite.sshd, {
      proof: JSON.stringify([
        { name: "reads-staged", command: "cat README.md >/dev/null" },
        { name: "reads-live", command: "cat app/service.py >/dev/null", when: "live" },
      ]),
    });
    const first = await held.stack.up(config);
    expect(first.error, first.error?.message).to.equal(undefined);
  });
  after(() => fs.rmSync(wires.dir, { recursive: true, force: true }));
  afterEach(async () => {
    wires.disarm();
    endLeftBehind(leftBehind);
    leftBehind = [];
    // A test that failed before its own pulumi cancel leaves the killed CLI's lock: the next
    // test starts from an unlocked stack all the same.
    if (backendLocks(held.stack.backendDir).length > 0) await held.stack.cancel();
  });

  for (const k of KILLS) {
    it(`keeps a complete release when pulumi up is killed ${k.when}, its plugins and the remote shell running on until the transaction next prints; pulumi cancel then pulumi up converge, and preview and up then expect no changes`, async () => {
      suite.repo.commit(k.step, { "app/version.py": `V = "${k.step}"\n` });
      const old = liveRelease(suite.root).id;
      const next = await artifactOf(suite.repo, suite.repo.head(), path.join(suite.work, "build"));
      const token = lockInfoFor(held.stack.name, projectRoot()).token;

      wires.arm(k.pattern);
      const { child, done } = await held.stack.startUp(config);
      await Promise.race([
        wires.tripped(),
        done.then((r) => {
          throw new Error(`the up ended before ${k.pattern} ran: ${r.error?.message ?? "ok"}`);
        }),
      ]);
      // The server at the kill: the upload whole, the lock and current as the point says.
      expect(sha256(uploadPaths(suite.root, next.releaseId).artifact)).to.equal(next.sha256);
      expect(lockInfo(suite.root)?.token).to.equal(k.locked ? token : undefined);
      expect(liveRelease(suite.root)).to.deep.equal({
        id: k.switched ? next.releaseId : old,
        complete: true,
      });

      const [cli, ...started] = processTree(child.pid!);
      const plugins = started.filter((p) => p.ppid === cli.pid);
      leftBehind = started;
      // The engine starts each plugin in a process group of its own, so the CLI's group, which
      // a terminal's kill -9 -<pgid> reaches, holds the CLI alone: this kill is that one.
      expect(started.filter((p) => p.pgid === cli.pgid)).to.deep.equal([]);
      expect(plugins.map((p) => path.basename(p.command.split(" ")[0])).sort()).to.deep.equal([
        "pulumi-language-nodejs",
        "pulumi-resource-command",
      ]);
      // The transaction's shell: the one the sshd session runs, which runs each step in turn.
      const shell = suite.sshd.sessionProcesses().find((p) => p.depth === 1)!;
      expect(shell.command).to.equal("sh -s");
      process.kill(cli.pid, "SIGKILL");
      await done;
      expect(child.signalCode).to.equal("SIGKILL");

      // What the kill leaves: both plugins, orphaned, and the transaction's shell, still held.
      expect(plugins.filter((p) => !running(p.pid))).to.deep.equal([]);
      expect(running(shell.pid)).to.equal(true);
      expect(suite.sshd.sessionProcesses().map((p) => p.command)).to.satisfy((c: string[]) =>
        c.some((line) => line.startsWith(`/bin/sh ${wires.dir}/`)),
      );
      // The slow step ends. The provider dies at the transaction's next line of output (its log
      // call to the dead engine fails, and its fallback write to stderr, a pipe to the dead
      // CLI, raises SIGPIPE); the remote shell then dies at its next write to the closed
      // session. The language host polls the engine only every five minutes: it runs on.
      wires.release();
      const provider = named(plugins, "pulumi-resource-command");
      await until(() => !running(provider.pid), 60_000, "end of the provider");
      // Once its session is gone the shell is no longer under the sshd: it is watched by pid.
      await until(() => !running(shell.pid), 60_000, "end of the transaction's shell");
      // The sshd's own session process follows it once it has reaped the shell.
      await until(() => suite.sshd.sessionProcesses().length === 0, 30_000, "end of the session");
      expect(running(named(plugins, "pulumi-language-nodejs").pid)).to.equal(true);

      // The shell stopped wherever its output first failed: current names a whole release, and
      // a lock left behind names this deploy and a shell that has ended, so it can re-enter.
      const live = liveRelease(suite.root);
      const lock = lockInfo(suite.root);
      expect(lock === undefined || (lock.token === token && lock.pid === `${shell.pid}`)).to.equal(
        true,
        JSON.stringify(lock),
      );

      // The killed CLI's lock file refuses every update until pulumi cancel removes it.
      const locks = backendLocks(held.stack.backendDir);
      expect(locks).to.have.length(1);
      const refused = await held.stack.up(config);
      expect(refused.stderr).to.equal(lockedOut(locks[0], cli.pid));
      expect(refused.steps).to.deep.equal([]);
      await held.stack.cancel();
      expect(backendLocks(held.stack.backendDir)).to.deep.equal([]);

      const rerun = await held.stack.up(config);
      const now = liveRelease(suite.root);
      const rest = leftovers(suite.root);
      const preview = await held.stack.preview(config, ["--expect-no-changes"]);
      const again = await held.stack.up(config, ["--expect-no-changes"]);
      const kept =
        live.complete && (k.switched ? [next.releaseId] : [old, next.releaseId]).includes(live.id);
      const converged =
        rerun.code === 0 &&
        now.complete &&
        now.id === next.releaseId &&
        rest.length === 0 &&
        preview.code === 0 &&
        again.code === 0;
      tally.faults.push({ step: k.step, kept, converged });
      expect(live.complete).to.equal(true);
      expect(k.switched ? [next.releaseId] : [old, next.releaseId]).to.include(live.id);
      expect(rerun.error, rerun.error?.message).to.equal(undefined);
      expect(now).to.deep.equal({ id: next.releaseId, complete: true });
      expect(rest).to.deep.equal([]);
      await expectVerified(rerun.outputs!, config);
      expect({ code: preview.code, changes: acted(preview) }).to.deep.equal({
        code: 0,
        changes: [],
      });
      expect({ code: again.code, changes: acted(again) }).to.deep.equal({ code: 0, changes: [] });
    });
  }
});
