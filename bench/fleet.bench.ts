import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { surveyScript, targetScript } from "../remote/survey";
import { SshRunner } from "../survey/runner";
import { Operator } from "../testbed/operator";
import { TestS3 } from "../testbed/s3";
import { TestSshd } from "../testbed/sshd";
import { ThrowawayStack } from "../testbed/stack";
import { fleetStackConfig } from "../tests/helpers/stack";
import { generateRepo } from "./generateRepo";
import { serverCpu, sessionsEnded, waitedCpu } from "./cpu";
import { line, median, timed, timedUp, runBench } from "./measure";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const FLEET = 8;
/** A small repository: the figures are of the engine and the hosts, not of the artifact. */
const FILES = 200;
const AVG_BYTES = 2_000;

const rounds = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(", ");

/**
 * One stack deployed once through each backend, the file backend and S3 on a SeaweedFS
 * server on loopback, each to a deploy root of its own on one sshd; then a no-change
 * `pulumi up` of each (its preview and the update), in alternating rounds.
 */
async function backends(repo: string, work: string): Promise<string[]> {
  const [sshd, s3] = await Promise.all([TestSshd.start(), TestS3.start()]);
  let file: ThrowawayStack | undefined;
  let operator: Operator | undefined;
  try {
    file = await ThrowawayStack.create();
    operator = await Operator.join(`bench${process.pid}`, s3.backendUrl, s3.clientEnv());
    const stacks = [
      { name: "file", stack: file, times: [] as number[] },
      { name: "s3", stack: operator.stack, times: [] as number[] },
    ];
    const cfg = (name: string) =>
      fleetStackConfig(repo, path.join(work, name), [sshd], path.join(work, name, "srv", "app"));
    for (const s of stacks) await timedUp(s.stack, cfg(s.name));
    for (let i = 0; i < ROUNDS; i++)
      for (const s of i % 2 === 0 ? stacks : [...stacks].reverse())
        s.times.push((await timedUp(s.stack, cfg(s.name), ["--expect-no-changes"])).seconds);
    const [f, s] = stacks.map((x) => median(x.times));
    return [
      `no-change pulumi up of one stack (its preview and the update) to a loopback sshd, ${ROUNDS} alternating rounds:`,
      line("file backend", `median ${f.toFixed(2)} s; rounds ${rounds(stacks[0].times)}`),
      line(
        "S3 backend (SeaweedFS on loopback)",
        `median ${s.toFixed(2)} s; rounds ${rounds(stacks[1].times)}`,
      ),
      line("ratio of the medians, S3 to file", `${(s / f).toFixed(2)}x (target <= 1.5x)`),
    ];
  } finally {
    file?.remove();
    operator?.remove();
    await Promise.all([sshd.stop(), s3.stop()]);
  }
}

/**
 * One release deployed through `pulumi up` to eight loopback sshd servers, each seeing a disk
 * of its own at the deploy root as a fleet's hosts do, against the same to one of them: each
 * round a new stack and a new deploy root, in alternating rounds. A first deploy builds the
 * artifact and runs the tests, so every timed one reuses both, as a fleet of any size would.
 */
async function fleet(repo: string, work: string): Promise<string[]> {
  const diskAt = path.join(work, "srv");
  const servers = await Promise.all(
    Array.from({ length: FLEET }, () => TestSshd.start({ diskAt })),
  );
  const made: ThrowawayStack[] = [];
  try {
    for (const s of servers.slice(1)) s.authorize(servers[0].userKey.publicKey);
    const deploy = async (to: TestSshd[], label: string) => {
      const stack = await ThrowawayStack.create();
      made.push(stack);
      const rel = path.join(label, "app");
      const cpu = [waitedCpu("self"), to.map(serverCpu)] as const;
      const run = await timedUp(stack, fleetStackConfig(repo, work, to, path.join(diskAt, rel)));
      await sessionsEnded(to);
      // Each server's own disk holds the release live: the deploy reached every host.
      const live = to.map((s) => fs.readlinkSync(path.join(s.disk, rel, "current")));
      const expected = to.map(
        (_, i) => `releases/${run.run.outputs!.deploy[`web${i + 1}`].releaseId}`,
      );
      if (JSON.stringify(live) !== JSON.stringify(expected))
        throw new Error(`${label}: current is ${live.join(", ")}, expected ${expected.join(", ")}`);
      return {
        releaseId: run.run.outputs!.deploy.web1.releaseId,
        seconds: run.seconds,
        client: waitedCpu("self") - cpu[0],
        servers: to.reduce((sum, s, i) => sum + serverCpu(s) - cpu[1][i], 0),
      };
    };
    await deploy(servers.slice(0, 1), "warm");
    type Deploy = Awaited<ReturnType<typeof deploy>>;
    const one: Deploy[] = [];
    const all: Deploy[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const order = [
        async () => all.push(await deploy(servers, `r${i}-fleet`)),
        async () => one.push(await deploy(servers.slice(0, 1), `r${i}-one`)),
      ];
      for (const step of i % 2 === 0 ? order : order.reverse()) await step();
    }
    // Where the time goes: the preview alone, then the update alone (up --skip-preview).
    const split = async (to: TestSshd[], label: string, skipCheckpoints = false) => {
      const stack = await ThrowawayStack.create();
      made.push(stack);
      // A diagnostic only: the engine then saves the state once, at the end, which no deploy
      // should do (an interrupted up could not be recovered); it shows what the saves cost.
      if (skipCheckpoints) stack.env.PULUMI_SKIP_CHECKPOINTS = "true";
      const cfg = fleetStackConfig(repo, work, to, path.join(diskAt, label, "app"));
      const previewed = await timed(() => stack.preview(cfg));
      if (previewed.value.code !== 0)
        throw previewed.value.error ?? new Error(previewed.value.stdout);
      const updated = await timedUp(stack, cfg, ["--skip-preview"]);
      return `preview alone ${previewed.seconds.toFixed(2)} s, up --skip-preview alone ${updated.seconds.toFixed(2)} s`;
    };
    const splits = [
      await split(servers.slice(0, 1), "split-one"),
      await split(servers, "split"),
      await split(servers, "split-unsaved", true),
    ];
    // What the program reads before any resource, as it reads it: every host at once, one
    // connection each, the survey then the target check, in a deploy root the round deployed.
    const survey = (to: TestSshd[], label: string, releaseId: string) =>
      timed(async () => {
        const root = path.join(diskAt, label, "app");
        // Every host at once, as the program reads them.
        await Promise.all(
          to.map(async (s) => {
            const r = await SshRunner.open({
              ...s.target(),
              privateKey: servers[0].userKey.privateKey,
            });
            await r.run(surveyScript(root, "kill-switch.json", []));
            await r.run(targetScript(root, releaseId));
            r.close();
          }),
        );
      });
    const surveyed = [
      await survey(servers.slice(0, 1), "r0-one", one[0].releaseId),
      await survey(servers, "r0-fleet", all[0].releaseId),
    ];
    const of = (ds: Deploy[], k: "seconds" | "client" | "servers") => median(ds.map((d) => d[k]));
    const figures = (ds: Deploy[]) =>
      `median ${of(ds, "seconds").toFixed(2)} s; rounds ${rounds(ds.map((d) => d.seconds))}; ` +
      `CPU ${of(ds, "client").toFixed(2)} s here, ${of(ds, "servers").toFixed(2)} s in the servers' sessions`;
    return [
      `pulumi up of one release (its preview and the update), rollout all-or-none, ${ROUNDS} alternating rounds, on ${os.cpus().length} cores:`,
      line("to 1 loopback sshd", figures(one)),
      line(`to ${FLEET} loopback sshd`, figures(all)),
      line(
        `ratio of the medians, ${FLEET} to 1`,
        `${(of(all, "seconds") / of(one, "seconds")).toFixed(2)}x (target <= 1.5x)`,
      ),
      line("  of which, to 1", splits[0]),
      line(`  of which, to ${FLEET}`, splits[1]),
      line(`  to ${FLEET}, the state saved once (diagnostic)`, splits[2]),
      line(
        "  the survey and target check alone",
        `${surveyed[0].seconds.toFixed(2)} s to 1, ${surveyed[1].seconds.toFixed(2)} s to ${FLEET}, every host at once as the program reads them, once a run`,
      ),
    ];
  } finally {
    for (const s of made) s.remove();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "ssot-bench-fleet-"));
  const repo = generateRepo(FILES, AVG_BYTES);
  try {
    for (const part of [backends, fleet]) console.log((await part(repo, work)).join("\n"));
  } finally {
    fs.rmSync(repo, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }
}

runBench(main);
