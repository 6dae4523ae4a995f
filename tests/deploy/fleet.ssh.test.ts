import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { rolloutBatches } from "../../components/rollout";
import { DEPLOY_TYPE } from "../../evidence/statements";
import { RolloutRecord } from "../../evidence/rollout";
import { layout } from "../../remote/preamble";
import { EngineRun } from "../../testbed/events";
import { TestSshd } from "../../testbed/sshd";
import { liveRelease, Tripwires } from "../helpers/faults";
import { FixtureRepo, tempDir } from "../helpers/repo";
import { rootOnly } from "../helpers/root";
import { engineStack, fleetStackConfig } from "../helpers/stack";

const HOSTS = 8;

/** The probe that fails only on `sshd`: sshd tells each session the port it came in on. */
const failsOn = (sshd: TestSshd) => `[ "\${SSH_CONNECTION##* }" != ${sshd.port} ]`;

describe("a fleet of 8 servers, each on its own disk, through pulumi up", function () {
  this.timeout(600_000);
  const held = engineStack();
  const servers: TestSshd[] = [];
  const names = Array.from({ length: HOSTS }, (_, i) => `web${i + 1}`);
  let wires: Tripwires;
  let repo: FixtureRepo;
  let work: string;
  let diskAt: string;

  before(async function () {
    rootOnly(this);
    work = tempDir();
    diskAt = path.join(work, "srv");
    wires = new Tripwires(tempDir("ssot-wires-"), ["ln"]);
    // Every server sees its own disk at the same path: one deployRoot, as in a real fleet.
    servers.push(
      ...(await Promise.all(
        names.map((_, i) => TestSshd.start({ diskAt, ...(i === 2 ? { path: wires.path } : {}) })),
      )),
    );
    for (const s of servers.slice(1)) s.authorize(servers[0].userKey.publicKey);
    repo = FixtureRepo.create();
  });
  after(async () => {
    wires?.disarm();
    await Promise.all(servers.map((s) => s.stop()));
    repo?.remove();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** The stack's settings: the repo's head to all eight, with `over` adding or replacing keys. */
  const settings = (over: Record<string, string> = {}) =>
    fleetStackConfig(repo.dir, work, servers, path.join(diskAt, "app"), over);
  const up = (over: Record<string, string> = {}) => held.stack.up(settings(over));
  /** Each server's live release id, in host order. */
  const live = () => servers.map((s) => liveRelease(path.join(s.disk, "app")).id);
  /** Whether any server still holds a deploy lock. */
  const locked = () =>
    servers.filter((s) => fs.existsSync(layout(path.join(s.disk, "app")).lock)).length;
  const releaseOf = (run: EngineRun) => {
    if (run.error) throw new Error(run.error.message);
    return Object.values(run.outputs!.deploy)[0].releaseId;
  };

  /** The newest report of the stack, and its "exact gap:" line. */
  const newestReport = () => {
    const dir = path.join(work, "reports", held.stack.name);
    const last = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".md"))
      .sort()
      .pop()!;
    const text = fs.readFileSync(path.join(dir, last), "utf8");
    return { text, gap: /^exact gap: (.*)$/m.exec(text)?.[1] };
  };
  /** The rollout the up's deploy statement records. */
  const attestedRollout = (run: EngineRun): RolloutRecord =>
    run.outputs!.attestation.statements.find((s) => s.predicateType === DEPLOY_TYPE)!.statement
      .predicate.rollout as RolloutRecord;
  /** Resolves once `n` servers are live on a release other than `from`. */
  const switchedAway = async (from: string, n: number) => {
    const deadline = Date.now() + 300_000;
    while (live().filter((id) => id !== from).length < n) {
      if (Date.now() > deadline) throw new Error(`${n} servers did not leave ${from}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  let v1: string;
  let v2: string;

  it("deploys the first release to all eight servers, each on its own disk", async () => {
    const run = await up();
    v1 = releaseOf(run);
    expect(live()).to.deep.equal(names.map(() => v1));
    expect(locked()).to.equal(0);
    // The attestation says which hosts switched, in the one batch all-or-none makes.
    expect(attestedRollout(run)).to.deep.equal({
      policy: "all-or-none",
      batches: [names],
      switched: names,
      unchanged: [],
    });
  });

  it("leaves all eight on the old release, every lock released, when a staged probe fails on the fifth", async () => {
    repo.commit("v2", { VERSION: "2\n" });
    const run = await up({
      proof: JSON.stringify([{ name: "not-on-web5", command: failsOn(servers[4]) }]),
    });
    expect(run.code).to.equal(1);
    expect(run.error?.message).to.match(
      /BLOCKED: probe not-on-web5 exited 1 in the staged release/,
    );
    expect(live()).to.deep.equal(names.map(() => v1));
    expect(locked()).to.equal(0);
    // Every host was prepared in parallel; no switch started anywhere.
    const ran = run.resources.filter((r) => r.type === "command:remote:Command" && r.op !== "same");
    expect(ran.filter((r) => r.name.endsWith("-deploy-prepare"))).to.have.length(HOSTS);
    expect(ran.filter((r) => r.name.endsWith("-deploy"))).to.deep.equal([]);
    // The report's gap names the hosts on each release: all still on the first.
    expect(newestReport().gap).to.match(
      new RegExp(
        `deployed by it: none; not finished: releases/${v1}: ${names.join(", ")} before it`,
      ),
    );
  });

  it("converges on the next pulumi up, then previews no change, after the connection to the third server is cut during the switches", async () => {
    // The switch is one `ln -sfn`; on web3 it is held there until the cut.
    wires.arm("^ln -sfn ");
    const running = up();
    await wires.tripped(300_000);
    // The other seven switch while web3 is held at its switch; then its connection is cut.
    await switchedAway(v1, HOSTS - 1);
    servers[2].cut();
    wires.disarm();
    const cut = await running;
    expect(cut.code).to.equal(1);
    const mixed = live();
    expect(mixed[2]).to.equal(v1);
    expect(mixed.filter((id) => id !== v1)).to.have.length(HOSTS - 1);
    v2 = mixed[0];
    const others = names.filter((n) => n !== "web3");
    expect(newestReport().gap).to.contain(
      `on releases/${v2}, deployed by it: ${others.join(", ")}; not finished: releases/${v1}: web3 before it`,
    );
    // The next preview reads the fleet as it is, release by release.
    const preview = await held.stack.preview(settings());
    expect(preview.error?.message).to.equal(undefined);
    expect(newestReport().text).to.contain(
      `live now: releases/${v2}: ${others.join(", ")}; releases/${v1}: web3\n`,
    );
    const again = await up();
    expect(releaseOf(again)).to.equal(v2);
    expect(live()).to.deep.equal(names.map(() => v2));
    expect(locked()).to.equal(0);
    expect(attestedRollout(again).switched).to.deep.equal(["web3"]);
    // Converged, the fleet is the declared state: a preview plans no change.
    const still = await held.stack.preview(settings(), ["--expect-no-changes"]);
    expect(still.code, still.stderr).to.equal(0);
  });

  it("stops a rolling rollout of batches of 3 after the batch that fails, the rest untouched", async () => {
    repo.commit("v3", { VERSION: "3\n" });
    const logins = servers.map((s) => s.logins());
    const run = await up({
      rollout: "rolling",
      batchSize: "3",
      proof: JSON.stringify([{ name: "not-on-web5", command: failsOn(servers[4]) }]),
    });
    expect(run.code).to.equal(1);
    const [first, failing, rest] = rolloutBatches(names, { rollout: "rolling", batchSize: 3 });
    const now = live();
    const v3 = now[0];
    expect(v3).to.not.equal(v2);
    expect(first.map((n) => now[names.indexOf(n)])).to.deep.equal(first.map(() => v3));
    expect([...failing, ...rest].map((n) => now[names.indexOf(n)])).to.deep.equal(
      [...failing, ...rest].map(() => v2),
    );
    expect(locked()).to.equal(0);
    // The batch after the failing one saw only the survey's read-only sessions, for up's
    // preview and for the update.
    const after = rest.map((n) => servers[names.indexOf(n)].logins() - logins[names.indexOf(n)]);
    expect(after).to.deep.equal(rest.map(() => 2));
  });
});
