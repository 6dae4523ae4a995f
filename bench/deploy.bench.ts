import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SshRunner } from "../survey/runner";
import { keptScript, surveyScript, targetScript } from "../remote/survey";
import { EngineRun } from "../testbed/events";
import { ThrowawayStack } from "../testbed/stack";
import { TestSshd } from "../testbed/sshd";
import { generateRepo } from "./generateRepo";
import { commitChange, git, line, median, timed, timedUp, runBench } from "./measure";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** The upload steps a run took that copied something (an upload's delete copies nothing). */
const uploads = (run: EngineRun) =>
  run.resources.filter((r) => r.name.endsWith("-upload") && r.op !== "same" && r.op !== "delete");

/**
 * Deploys a 10,000-file artifact to a loopback sshd through `pulumi up` (its preview and the
 * update, as an operator types it), against the floor of scp + ssh tar -xzf + ln -sfn of the
 * same tar.gz. Rounds alternate the two, each to a fresh directory, and the ratio is of the
 * medians: the disk's write-back makes single extractions vary severalfold. Then rolls back by
 * release from a second release to the first through `pulumi up`, timed whole, with a 1-second
 * and a slow test suite (BENCH_SLOW_SUITE seconds, 60 by default), against the same survey
 * timed alone and against a rollback by ref once the test cache is gone.
 */
async function main(): Promise<void> {
  const files = Number(process.env.BENCH_FILES ?? 10_000);
  const avg = Number(process.env.BENCH_AVG_BYTES ?? 10_000);
  const sshd = await TestSshd.start();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "ssot-bench-deploy-"));
  const repos: string[] = [];
  const stacks: ThrowawayStack[] = [];
  try {
    const key = path.join(work, "key");
    fs.writeFileSync(key, sshd.userKey.privateKey, { mode: 0o600 });
    fs.writeFileSync(path.join(work, "known_hosts"), `[127.0.0.1]:${sshd.port} ${sshd.hostKey}\n`);
    const sshOpts = [
      ...["-i", key, "-o", `UserKnownHostsFile=${path.join(work, "known_hosts")}`],
      ...["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"],
    ];
    const user = os.userInfo().username;
    const login = `${user}@127.0.0.1`;
    const ssh = (cmd: string) =>
      execFileSync("ssh", [...sshOpts, "-p", String(sshd.port), login, cmd]);

    // The stack signs: a rollback by release trusts the evidence its first deploy kept.
    const attestationKey = generateKeyPairSync("ed25519")
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    const cfg = (repo: string, root: string, over: Record<string, string> = {}) => ({
      repo,
      testCommand: "echo '1 passed, 0 failed'",
      attestationKey,
      workDir: path.join(work, "local"),
      reportDir: path.join(work, "reports"),
      target: "ssh",
      hosts: JSON.stringify([
        { name: "web1", host: "127.0.0.1", port: sshd.port, user, hostKey: sshd.hostKey },
      ]),
      deployRoot: root,
      sshPrivateKey: sshd.userKey.privateKey,
      ...over,
    });
    const newStack = async () => {
      const s = await ThrowawayStack.create();
      stacks.push(s);
      return s;
    };
    // What the program reads before any resource: one connection, the survey, the target check
    // (or, for a rollback, the kept-release check).
    const survey = (root: string, releaseId: string, kept: boolean) =>
      timed(async () => {
        const runner = await SshRunner.open(sshd.target());
        await runner.run(surveyScript(root, "kill-switch.json", []));
        await runner.run(kept ? keptScript(root, releaseId, []) : targetScript(root, releaseId));
        runner.close();
      });

    const big = generateRepo(files, avg);
    repos.push(big);
    // A first deploy builds the artifact (and names the release) before anything is timed.
    const warm = await timedUp(await newStack(), cfg(big, path.join(work, "warm", "app")));
    const artifact = warm.run.outputs!.artifact;

    const floors: number[] = [];
    const deploys: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const d = await timedUp(await newStack(), cfg(big, path.join(work, `r${i}`, "app")));
      deploys.push(d.seconds);
      const dir = path.join(work, `floor${i}`);
      const t = await timed(async () => {
        ssh(`mkdir -p ${dir}/r`);
        execFileSync("scp", [
          ...[...sshOpts, "-q", "-P", String(sshd.port)],
          ...[artifact.path, `${login}:${dir}/a.tar.gz`],
        ]);
        ssh(`tar -xzf ${dir}/a.tar.gz -C ${dir}/r && ln -sfn r ${dir}/current`);
      });
      floors.push(t.seconds);
    }
    // Where the time goes: the preview alone, then the update alone (up --skip-preview).
    const split = await newStack();
    const splitConfig = cfg(big, path.join(work, "split", "app"));
    const previewed = await timed(() => split.preview(splitConfig));
    const updated = await timedUp(split, splitConfig, ["--skip-preview"]);

    // Deploys v1 and v2 with a test suite of `suite` seconds, then rolls back to v1 by release
    // (timed whole), then, from v2 again with the test cache gone, by ref: the baseline.
    const rollback = async (repo: string, label: string, suite: number) => {
      const stack = await newStack();
      const root = path.join(work, `rb-${label}`, "app");
      const local = path.join(work, `local-${label}`);
      const over = { testCommand: `sleep ${suite} && echo '1 passed, 0 failed'`, workDir: local };
      const up = (o: Record<string, string>) => timedUp(stack, cfg(repo, root, { ...over, ...o }));
      const v1 = git(repo, "rev-parse", "HEAD");
      const first = await up({ ref: v1 });
      const v2 = commitChange(repo, `v2 ${label}`);
      await up({ ref: v2 });
      const releaseId = first.run.outputs!.artifact.releaseId;
      const surveyed = await survey(root, releaseId, true);
      const logins = sshd.logins();
      const back = await up({ release: releaseId });
      const used = sshd.logins() - logins;
      await up({ ref: v2, release: "" });
      // The same rollback with one run of the program: pulumi up --skip-preview.
      const once = await timedUp(stack, cfg(repo, root, { ...over, release: releaseId }), [
        "--skip-preview",
      ]);
      await up({ ref: v2, release: "" });
      fs.rmSync(path.join(local, "cache", "tests"), { recursive: true, force: true });
      const byRef = await up({ ref: v1, release: "" });
      git(repo, "reset", "-q", "--hard", v1);
      return {
        ...back,
        survey: surveyed.seconds,
        logins: used,
        byRef: byRef.seconds,
        once: once.seconds,
      };
    };
    const small = generateRepo(Math.floor(files / 4), avg);
    repos.push(small);
    const slow = Number(process.env.BENCH_SLOW_SUITE ?? 60);
    const backBig = await rollback(big, "big", 1);
    const backSlow = await rollback(big, "slow", slow);
    const backSmall = await rollback(small, "small", 1);
    const deploySurvey = await survey(path.join(work, "r0", "app"), artifact.releaseId, false);

    const f = median(floors);
    const dm = median(deploys);
    const rounds = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(", ");
    const report = [
      `deploy of ${files} files (${(artifact.bytes / 1e6).toFixed(1)} MB tar.gz) to a loopback sshd, ${ROUNDS} alternating rounds:`,
      line(
        "floor: scp + ssh tar -xzf + ln -sfn",
        `median ${f.toFixed(2)} s; rounds ${rounds(floors)}`,
      ),
      line(
        "pulumi up (its preview, then the update)",
        `median ${dm.toFixed(2)} s; rounds ${rounds(deploys)}`,
      ),
      line("ratio of the medians", `${(dm / f).toFixed(2)}x (target <= 1.3x)`),
      line("  of which: pulumi preview alone", `${previewed.seconds.toFixed(2)} s`),
      line("  and pulumi up --skip-preview alone", `${updated.seconds.toFixed(2)} s`),
      line("  the survey and target check, alone", `${deploySurvey.seconds.toFixed(2)} s`),
      "rollback by release through pulumi up (no build, no upload, no test run):",
    ];
    const rb = (r: typeof backBig, what: string) =>
      line(
        what,
        `${r.seconds.toFixed(2)} s, ${(r.seconds - r.survey).toFixed(2)} s beyond the survey (${r.survey.toFixed(2)} s); ` +
          `with --skip-preview ${r.once.toFixed(2)} s; by ref with the test cache gone ${r.byRef.toFixed(2)} s; ` +
          `${r.logins} logins, ${uploads(r.run).length} uploads`,
      );
    report.push(
      rb(backBig, `${files} files, 1 s suite`),
      rb(backSlow, `${files} files, ${slow} s suite`),
      rb(backSmall, `${Math.floor(files / 4)} files, 1 s suite`),
      line(
        `ratio, ${slow} s suite to 1 s suite`,
        `${(backSlow.seconds / backBig.seconds).toFixed(2)}x by release, ${(backSlow.byRef / backBig.byRef).toFixed(2)}x by ref`,
      ),
      line("ratio for 4x the files", `${(backBig.seconds / backSmall.seconds).toFixed(2)}x`),
    );
    console.log(report.join("\n"));
  } finally {
    await sshd.stop();
    for (const s of stacks) s.remove();
    for (const r of repos) fs.rmSync(r, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }
}

runBench(main);
