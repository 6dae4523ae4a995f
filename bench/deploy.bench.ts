import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CommandLifecycle, Operation } from "../harness/lifecycle";
import { runProgram } from "../harness/program";
import { TestSshd } from "../harness/sshd";
import { generateRepo } from "./generateRepo";

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

function seconds(ops: readonly Operation[]): number {
  return ops.reduce((n, o) => n + (o.seconds ?? 0), 0);
}

/**
 * Deploys a 10,000-file artifact to a loopback sshd through the program and the lifecycle
 * harness, and times the deploy operations against the floor of scp + ssh tar -xzf + ln -sfn of
 * the same tar.gz, in the same run. Then rolls back to it from a second release and counts
 * the SSH connections of each.
 */
async function main(): Promise<void> {
  const files = Number(process.env.BENCH_FILES ?? 10_000);
  const sshd = await TestSshd.start();
  const repo = generateRepo(files, Number(process.env.BENCH_AVG_BYTES ?? 10_000));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "ssot-bench-deploy-"));
  try {
    const key = path.join(work, "key");
    fs.writeFileSync(key, sshd.userKey.privateKey, { mode: 0o600 });
    fs.writeFileSync(path.join(work, "known_hosts"), `[127.0.0.1]:${sshd.port} ${sshd.hostKey}\n`);
    const sshOpts = [
      "-i",
      key,
      "-o",
      `UserKnownHostsFile=${path.join(work, "known_hosts")}`,
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      "BatchMode=yes",
    ];
    const user = os.userInfo().username;
    const root = path.join(work, "srv", "app");
    const cfg = (ref = "HEAD") => ({
      repo,
      ref,
      testCommand: "echo '1 passed, 0 failed'",
      workDir: path.join(work, "local"),
      target: "ssh",
      hosts: JSON.stringify([
        { name: "web1", host: "127.0.0.1", port: sshd.port, user, hostKey: sshd.hostKey },
      ]),
      deployRoot: root,
      sshPrivateKey: sshd.userKey.privateKey,
    });
    const lifecycle = new CommandLifecycle();
    const run = async (ref?: string) => {
      const from = lifecycle.operations.length;
      const connections = lifecycle.sshConnections;
      const r = await runProgram(cfg(ref), { preview: false, lifecycle });
      if (r.error) throw r.error;
      return {
        out: r.outputs!,
        ops: lifecycle.operations.slice(from),
        connections: lifecycle.sshConnections - connections,
      };
    };

    const v1 = await run();
    const artifact = v1.out.artifact.path;
    const floorDir = path.join(work, "floor");
    const t = process.hrtime.bigint();
    execFileSync("ssh", [
      ...sshOpts,
      "-p",
      String(sshd.port),
      `${user}@127.0.0.1`,
      `mkdir -p ${floorDir}/r`,
    ]);
    execFileSync("scp", [
      ...sshOpts,
      "-q",
      "-P",
      String(sshd.port),
      artifact,
      `${user}@127.0.0.1:${floorDir}/a.tar.gz`,
    ]);
    execFileSync("ssh", [
      ...sshOpts,
      "-p",
      String(sshd.port),
      `${user}@127.0.0.1`,
      `tar -xzf ${floorDir}/a.tar.gz -C ${floorDir}/r && ln -sfn r ${floorDir}/current`,
    ]);
    const floor = Number(process.hrtime.bigint() - t) / 1e9;

    fs.appendFileSync(path.join(repo, "pkg0", "mod0", "f0.txt"), "v2\n");
    git(repo, "commit", "-qam", "v2");
    await run();
    const back = await run(v1.out.artifact.commit);

    const deploy = seconds(v1.ops);
    console.log(
      `deploy of ${files} files (${(v1.out.artifact.bytes / 1e6).toFixed(1)} MB tar.gz) to a loopback sshd:`,
    );
    console.log(`  floor: scp + ssh tar -xzf + ln -sfn   ${floor.toFixed(2)} s (3 connections)`);
    console.log(
      `  ssot-deploy operations                ${deploy.toFixed(2)} s (${v1.connections} connections, plus 1 for the survey)`,
    );
    console.log(
      `  ratio                                 ${(deploy / floor).toFixed(2)}x (target <= 1.5x)`,
    );
    for (const o of v1.ops)
      console.log(`    ${o.name.padEnd(24)} ${(o.seconds ?? 0).toFixed(2)} s`);
    console.log(
      `rollback to the staged v1: ${seconds(back.ops).toFixed(2)} s, ${back.connections} connections plus 1 for the survey, uploads: ${back.ops.filter((o) => o.name.endsWith("upload") && o.op !== "delete").length}`,
    );
    for (const o of back.ops)
      console.log(`    ${o.name.padEnd(24)} ${o.op.padEnd(7)} ${(o.seconds ?? 0).toFixed(2)} s`);
  } finally {
    await sshd.stop();
    fs.rmSync(repo, { recursive: true, force: true });
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
