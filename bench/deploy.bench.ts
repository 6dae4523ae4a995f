import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SshRunner } from "../survey/runner";
import { keptScript, surveyScript, targetScript } from "../remote/survey";
import { CommandLifecycle, Operation } from "../harness/lifecycle";
import { runProgram } from "../harness/program";
import { TestSshd } from "../testbed/sshd";
import { generateRepo } from "./generateRepo";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const git = (repo: string, ...args: string[]) =>
  execFileSync("git", args, {
    cwd: repo,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "b",
      GIT_AUTHOR_EMAIL: "b@example.invalid",
      GIT_COMMITTER_NAME: "b",
      GIT_COMMITTER_EMAIL: "b@example.invalid",
    },
  }).trim();

const seconds = (ops: readonly Operation[]) => ops.reduce((n, o) => n + (o.seconds ?? 0), 0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const since = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;

/**
 * Deploys a 10,000-file artifact to a loopback sshd through the program and the lifecycle
 * harness, against the floor of scp + ssh tar -xzf + ln -sfn of the same tar.gz. Rounds
 * alternate the two, each to a fresh directory, and the ratio is of the medians: the disk's
 * write-back makes single extractions vary severalfold. The deploy's time is the read-only
 * survey (timed with the same scripts on one connection) plus every provider operation. Then
 * rolls back by release from a second release to the first, timed whole, with a 1-second and a
 * slow test suite (BENCH_SLOW_SUITE seconds, 60 by default), and at a quarter of the files;
 * each against the baseline of a rollback by ref once the test cache is gone.
 */
async function main(): Promise<void> {
  const files = Number(process.env.BENCH_FILES ?? 10_000);
  const avg = Number(process.env.BENCH_AVG_BYTES ?? 10_000);
  const sshd = await TestSshd.start();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "ssot-bench-deploy-"));
  const repos: string[] = [];
  try {
    const key = path.join(work, "key");
    fs.writeFileSync(key, sshd.userKey.privateKey, { mode: 0o600 });
    fs.writeFileSync(path.join(work, "known_hosts"), `[127.0.0.1]:${sshd.port} ${sshd.hostKey}\n`);
    const opts = ["-i", key, "-o", `UserKnownHostsFile=${path.join(work, "known_hosts")}`];
    const sshOpts = [...opts, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"];
    const user = os.userInfo().username;
    const login = `${user}@127.0.0.1`;
    const ssh = (cmd: string) =>
      execFileSync("ssh", [...sshOpts, "-p", String(sshd.port), login, cmd]);

    // The stack signs: a rollback by release trusts the evidence its first deploy kept.
    const attestationKey = generateKeyPairSync("ed25519")
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    const cfg = (repo: string, root: string, ref = "HEAD", over: Record<string, string> = {}) => ({
      repo,
      ref,
      testCommand: "echo '1 passed, 0 failed'",
      attestationKey,
      ...over,
      workDir: path.join(work, "local"),
      target: "ssh",
      hosts: JSON.stringify([
        { name: "web1", host: "127.0.0.1", port: sshd.port, user, hostKey: sshd.hostKey },
      ]),
      deployRoot: root,
      sshPrivateKey: sshd.userKey.privateKey,
    });
    // What ServerPrecheck does before any resource: one connection, the survey, the target check.
    const survey = async (root: string, releaseId: string) => {
      const t = process.hrtime.bigint();
      const runner = await SshRunner.open(sshd.target());
      await runner.run(surveyScript(root, "kill-switch.json", []));
      await runner.run(targetScript(root, releaseId));
      runner.close();
      return since(t);
    };
    const deploy = async (
      lifecycle: CommandLifecycle,
      repo: string,
      root: string,
      ref: string,
      releaseId?: string,
    ) => {
      const surveyed = releaseId === undefined ? 0 : await survey(root, releaseId);
      const from = lifecycle.operations.length;
      const connections = lifecycle.sshConnections;
      const r = await runProgram(cfg(repo, root, ref), { preview: false, lifecycle });
      if (r.error) throw r.error;
      const ops = lifecycle.operations.slice(from);
      return {
        out: r.outputs!,
        ops,
        survey: surveyed,
        seconds: surveyed + seconds(ops),
        connections: lifecycle.sshConnections - connections + 1,
      };
    };

    const big = generateRepo(files, avg);
    repos.push(big);
    const head = git(big, "rev-parse", "HEAD");
    // A first run builds the artifact (and names the release) before anything is timed.
    const warm = await deploy(new CommandLifecycle(), big, path.join(work, "warm", "app"), head);
    const releaseId = warm.out.artifact.releaseId;
    const artifact = warm.out.artifact.path;

    const floors: number[] = [];
    const deploys: number[] = [];
    let sample = warm;
    for (let i = 0; i < ROUNDS; i++) {
      const d = await deploy(
        new CommandLifecycle(),
        big,
        path.join(work, `r${i}`, "app"),
        head,
        releaseId,
      );
      deploys.push(d.seconds);
      sample = d;
      const dir = path.join(work, `floor${i}`);
      const t = process.hrtime.bigint();
      ssh(`mkdir -p ${dir}/r`);
      execFileSync("scp", [
        ...sshOpts,
        "-q",
        "-P",
        String(sshd.port),
        artifact,
        `${login}:${dir}/a.tar.gz`,
      ]);
      ssh(`tar -xzf ${dir}/a.tar.gz -C ${dir}/r && ln -sfn r ${dir}/current`);
      floors.push(since(t));
    }

    // A rollback's survey, as the program makes it: the survey and the kept-release check.
    const keptSurvey = async (root: string, releaseId: string) => {
      const t = process.hrtime.bigint();
      const runner = await SshRunner.open(sshd.target());
      await runner.run(surveyScript(root, "kill-switch.json", []));
      await runner.run(keptScript(root, releaseId, []));
      runner.close();
      return since(t);
    };
    // Deploys v1 and v2 with a test suite of `suite` seconds, then rolls back to v1 by release
    // (timed whole), then, from v2 again with the test cache gone, by ref: the baseline.
    const rollback = async (repo: string, label: string, suite: number) => {
      const lifecycle = new CommandLifecycle();
      const root = path.join(work, `rb-${label}`, "app");
      const local = path.join(work, `local-${label}`);
      const over = { testCommand: `sleep ${suite} && echo '1 passed, 0 failed'`, workDir: local };
      const up = async (o: Record<string, string>) => {
        const t = process.hrtime.bigint();
        const r = await runProgram(
          { ...cfg(repo, root), ...over, ...o },
          { preview: false, lifecycle },
        );
        if (r.error) throw r.error;
        return { out: r.outputs!, seconds: since(t) };
      };
      const v1 = git(repo, "rev-parse", "HEAD");
      const first = await up({ ref: v1 });
      fs.appendFileSync(path.join(repo, "pkg0", "mod0", "f0.txt"), `v2 ${label}\n`);
      git(repo, "commit", "-qam", `v2 ${label}`);
      const v2 = git(repo, "rev-parse", "HEAD");
      await up({ ref: v2 });
      const survey = await keptSurvey(root, first.out.artifact.releaseId);
      const from = lifecycle.operations.length;
      const connections = lifecycle.sshConnections;
      const back = await up({ release: first.out.artifact.releaseId });
      const ops = lifecycle.operations.slice(from);
      const used = lifecycle.sshConnections - connections + 1;
      await up({ ref: v2 });
      fs.rmSync(path.join(local, "cache", "tests"), { recursive: true, force: true });
      const byRef = await up({ ref: v1 });
      git(repo, "reset", "-q", "--hard", v1);
      return { ...back, survey, ops, connections: used, byRef: byRef.seconds };
    };
    const small = generateRepo(Math.floor(files / 4), avg);
    repos.push(small);
    const slow = Number(process.env.BENCH_SLOW_SUITE ?? 60);
    const backBig = await rollback(big, "big", 1);
    const backSlow = await rollback(big, "slow", slow);
    const backSmall = await rollback(small, "small", 1);

    const f = median(floors);
    const dm = median(deploys);
    const mb = (warm.out.artifact.bytes / 1e6).toFixed(1);
    console.log(
      `deploy of ${files} files (${mb} MB tar.gz) to a loopback sshd, ${ROUNDS} alternating rounds:`,
    );
    console.log(
      `  floor: scp + ssh tar -xzf + ln -sfn   median ${f.toFixed(2)} s (3 connections); rounds ${floors.map((x) => x.toFixed(2)).join(", ")}`,
    );
    console.log(
      `  ssot-deploy: survey + operations     median ${dm.toFixed(2)} s (${sample.connections} connections); rounds ${deploys.map((x) => x.toFixed(2)).join(", ")}`,
    );
    console.log(`  ratio of the medians                  ${(dm / f).toFixed(2)}x (target <= 1.5x)`);
    console.log(`    survey and target check  ${sample.survey.toFixed(2)} s`);
    for (const o of sample.ops)
      console.log(`    ${o.name.padEnd(24)} ${(o.seconds ?? 0).toFixed(2)} s`);
    const rb = (r: typeof backBig, what: string) =>
      `  ${what.padEnd(30)} ${r.seconds.toFixed(2)} s, ${(r.seconds - r.survey).toFixed(2)} s beyond the survey (${r.survey.toFixed(2)} s); by ref with the test cache gone ${r.byRef.toFixed(2)} s; ${r.connections} connections, uploads: ${r.ops.filter((o) => o.name.endsWith("upload") && o.op !== "delete").length}`;
    console.log(
      "rollback by release to the kept first release (no build, no upload, no test run):",
    );
    console.log(rb(backBig, `${files} files, 1 s suite`));
    console.log(rb(backSlow, `${files} files, ${slow} s suite`));
    console.log(rb(backSmall, `${Math.floor(files / 4)} files, 1 s suite`));
    console.log(
      `  ratio, ${slow} s suite to 1 s suite: ${(backSlow.seconds / backBig.seconds).toFixed(2)}x by release, ${(backSlow.byRef / backBig.byRef).toFixed(2)}x by ref`,
    );
    console.log(
      `  ratio for 4x the files: ${(backBig.seconds / backSmall.seconds).toFixed(2)}x (a copy of the release would make it about 4x)`,
    );
    for (const o of backBig.ops)
      console.log(`    ${o.name.padEnd(24)} ${o.op.padEnd(7)} ${(o.seconds ?? 0).toFixed(2)} s`);
  } finally {
    await sshd.stop();
    for (const r of repos) fs.rmSync(r, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }
}
main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(e.message);
    process.exit(1);
  },
);
