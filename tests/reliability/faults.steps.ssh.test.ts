import { expect } from "chai";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { expectVerified } from "../helpers/attest";
import { refusalOf } from "../helpers/catalogue";
import { EngineRun } from "../../testbed/events";
import { leftovers, liveRelease, lockInfo, Tripwires, until } from "../helpers/faults";
import { tempDir } from "../helpers/repo";
import { engineStack, sshStackConfig, sshSuite } from "../helpers/stack";
import { tally } from "../helpers/tally";

/** Where a deploy is cut, and the command line it is held at when it is. */
interface Fault {
  when: string;
  step: string;
  pattern: string;
  /** Whether current already points at the new release at that point. */
  switched: boolean;
}

const FAULTS: Fault[] = [
  { when: "during staging", step: "stage", pattern: "^tar -xzf ", switched: false },
  {
    when: "between staging and the switch",
    step: "killswitch",
    pattern: "^mv .*/shared/kill-switch\\.json\\.tmp-",
    switched: false,
  },
  {
    when: "during the switch, before current moves",
    step: "promote",
    pattern: "^mv -T .*/\\.current\\.tmp-",
    switched: false,
  },
  {
    when: "during the switch, after current moved and before the log entry",
    step: "promote-log",
    pattern: "^tail -n 1 .*/\\.deploy/revisions\\.jsonl$",
    switched: true,
  },
  {
    when: "during the staged probes, before the switch",
    step: "staged-proof",
    pattern: "^cat README\\.md$",
    switched: false,
  },
  { when: "during the proof", step: "proof", pattern: "^cat app/service\\.py$", switched: true },
];

describe("a pulumi up whose connection is cut at each step boundary, against a real sshd", function () {
  this.timeout(180_000);
  const wires = new Tripwires(tempDir("ssot-wires-"), ["tar", "mv", "tail", "cat"]);
  const suite = sshSuite({ path: wires.path });
  const held = engineStack();
  let config: Record<string, string>;
  const deploy = () => held.stack.up(config);

  before(async () => {
    config = sshStackConfig(suite.repo.dir, suite.work, suite.sshd, {
      proof: JSON.stringify([
        { name: "reads-staged", command: "cat README.md >/dev/null" },
        { name: "reads-live", command: "cat app/service.py >/dev/null", when: "live" },
      ]),
    });
    const first = await deploy();
    expect(first.error, first.error?.message).to.equal(undefined);
  });
  after(() => fs.rmSync(wires.dir, { recursive: true, force: true }));
  afterEach(() => wires.disarm());

  /**
   * After a cut: the server must hold a complete release (the old one, or the new one once
   * current has moved), and the same deploy run again must converge on the new release, leave
   * no temporary file or lock behind, and verify.
   */
  async function afterCut(
    step: string,
    cut: EngineRun,
    old: string,
    switched: boolean,
    failed = "web1-deploy",
  ) {
    // The engine reports the failure as the failure of the step the lost session ran.
    expect(cut.code).to.not.equal(0);
    const urn = cut.resources.find((r) => r.name === failed)?.urn;
    expect(urn, `no step of ${failed}`).to.be.a("string");
    expect(cut.diagnostics.filter((d) => d.severity === "error").map((d) => d.urn)).to.include(urn);
    const live = liveRelease(suite.root);
    const rerun = await deploy();
    const next = rerun.outputs?.artifact.releaseId;
    const rest = leftovers(suite.root);
    const now = liveRelease(suite.root);
    const kept = live.complete && live.id === (switched ? next : old);
    const converged = !rerun.error && now.complete && now.id === next && rest.length === 0;
    tally.faults.push({ step, kept, converged });
    expect(rerun.error, rerun.error?.message).to.equal(undefined);
    expect(live).to.deep.equal({ id: switched ? next : old, complete: true });
    expect(now).to.deep.equal({ id: next, complete: true });
    expect(rest).to.deep.equal([]);
    await expectVerified(rerun.outputs!, config);
    return rerun.outputs!;
  }

  /**
   * Runs the deploy until it is held at the armed command line; it is still running then, so
   * it comes back wrapped (an async function would wait for a promise it returns).
   */
  async function heldAt(pattern: string): Promise<{ running: Promise<EngineRun> }> {
    wires.arm(pattern);
    const { done: running } = await held.stack.startUp(config);
    await Promise.race([
      wires.tripped(),
      running.then((r) => {
        throw new Error(`the deploy ended before ${pattern} ran: ${r.error?.message ?? "ok"}`);
      }),
    ]);
    return { running };
  }

  for (const f of FAULTS) {
    it(`keeps a complete release when the deploy is cut ${f.when}, and converges`, async () => {
      suite.repo.commit(`cut at ${f.step}`, { "app/version.py": `V = "${f.step}"\n` });
      const old = liveRelease(suite.root).id;
      const { running } = await heldAt(f.pattern);
      expect(suite.sshd.cut()).to.not.deep.equal([]);
      await afterCut(f.step, await running, old, f.switched);
    });
  }

  it("refuses to re-enter while a cut run still works on the server, and converges once it ends", async () => {
    suite.repo.commit("dropped", { "app/version.py": 'V = "dropped"\n' });
    const old = liveRelease(suite.root).id;
    const { running } = await heldAt("^tar -xzf ");
    // A dropped network: the sessions' sshd processes die, the deploy's shell lives on.
    suite.sshd.cut({ keepCommands: true });
    const cut = await running;
    expect(cut.code).to.not.equal(0);
    const { pid, since } = lockInfo(suite.root)!;
    // The shell's process group and session, as /proc gives them.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const [group, session] = stat
      .slice(stat.lastIndexOf(")") + 2)
      .split(" ")
      .slice(2, 4);
    const again = await deploy();
    expect(refusalOf(again.error)).to.equal(
      `an earlier run of this deploy (pid ${pid} on the server, since ${since}) is still running and holds the lock; current was not switched; wait for it to end, or end it and the command it runs with kill -- -${group} (ps -s ${session} lists every process it started), then run pulumi up again`,
    );
    expect(liveRelease(suite.root)).to.deep.equal({ id: old, complete: true });
    // What the refusal says to run: the group, the shell and the command it waits on.
    process.kill(-Number(group), "SIGKILL");
    await afterCut("stage, shell left running", again, old, false);
  });

  it("keeps the old release when the connection is cut during the upload, and converges", async () => {
    // Incompressible bytes, so that the upload lasts long enough to be cut partway.
    suite.repo.commit("big", { "data/blob.bin": randomBytes(24 << 20).toString("latin1") });
    const old = liveRelease(suite.root).id;
    const uploads = path.join(suite.root, ".deploy", "uploads");
    const present = new Set(fs.readdirSync(uploads));
    let partial = -1;
    const { done } = await held.stack.startUp(config);
    // Watched from here while the CLI uploads: the connection is cut once the file has bytes.
    await until(
      () => {
        const f = fs.readdirSync(uploads).find((e) => !present.has(e));
        partial = f === undefined ? 0 : fs.statSync(path.join(uploads, f)).size;
        return partial > 0;
      },
      120_000,
      "upload under way",
    );
    expect(suite.sshd.cut()).to.not.deep.equal([]);
    const cut = await done;
    const out = await afterCut("upload", cut, old, false, "web1-release-upload");
    expect(partial).to.be.within(1, out.artifact.bytes - 1);
  });
});
