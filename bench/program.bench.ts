import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { readStackFile } from "../config/stackFile";
import { projectRoot } from "../lib/paths";
import { surveyScript, targetScript } from "../remote/survey";
import { LocalRunner } from "../survey/runner";
import { LOCAL_TEMPLATE } from "../tools/localStack";
import { ensureSampleRepo } from "../tools/sampleRepo";
import { ThrowawayStack } from "../testbed/stack";
import { line, median, timed, timedUp, runBench } from "./measure";

const ROOT = projectRoot();
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

/**
 * This project as the engine would run it from its TypeScript source: a folder holding a
 * Pulumi.yaml without `main` and with `typescript: true`, and links to everything else.
 */
function typescriptProject(dir: string): string {
  const project = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
    main?: string;
    runtime: { options: Record<string, unknown> };
  };
  delete project.main;
  project.runtime.options.typescript = true;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), yaml.dump(project));
  for (const e of fs.readdirSync(ROOT))
    if (e !== "Pulumi.yaml" && !e.startsWith("Pulumi.") && e !== ".ssot-deploy")
      fs.symlinkSync(path.join(ROOT, e), path.join(dir, e));
  return dir;
}

/**
 * The program's start-up under the engine: a preview whose config names no repository, so the
 * program starts, refuses at G0 and contacts no server, run from the compiled program (what
 * Pulumi.yaml runs) and from the TypeScript source: with ts-node's cache of compiled files warm
 * (every run after the first since the source last changed), and cold (the first), alternating.
 */
async function startUp(work: string): Promise<string[]> {
  const config = {
    repo: path.join(work, "no-such-repo"),
    testCommand: "true",
    target: "local",
    deployRoot: path.join(work, "start-up"),
    reportDir: path.join(work, "reports"),
  };
  const tsProject = typescriptProject(path.join(work, "ts-project"));
  const compiled = await ThrowawayStack.create();
  const warm = await ThrowawayStack.create(undefined, { project: tsProject });
  // ts-node keeps what it compiled in TS_NODE_CACHE_DIRECTORY: emptied before each cold run.
  const coldCache = path.join(work, "ts-node-cache");
  process.env.TS_NODE_CACHE_DIRECTORY = coldCache;
  const cold = await ThrowawayStack.create(undefined, { project: tsProject });
  delete process.env.TS_NODE_CACHE_DIRECTORY;
  const runs = { compiled: [] as number[], warm: [] as number[], cold: [] as number[] };
  try {
    for (let i = 0; i < ROUNDS; i++)
      for (const [stack, into] of [
        [compiled, runs.compiled],
        [warm, runs.warm],
        [cold, runs.cold],
      ] as const) {
        fs.rmSync(coldCache, { recursive: true, force: true });
        const { value, seconds } = await timed(() => stack.preview(config));
        if (value.code !== 1)
          throw new Error(`the start-up preview did not refuse:\n${value.stdout}`);
        into.push(seconds);
      }
  } finally {
    for (const s of [compiled, warm, cold]) s.remove();
  }
  const m = { compiled: median(runs.compiled), warm: median(runs.warm), cold: median(runs.cold) };
  return [
    `program start-up under the engine: pulumi preview refused at G0, ${ROUNDS} rounds:`,
    line("compiled (Pulumi.yaml runs dist/index.js)", `median ${m.compiled.toFixed(2)} s`),
    line(
      "TypeScript, ts-node's cache warm",
      `median ${m.warm.toFixed(2)} s, ${(m.warm / m.compiled).toFixed(2)}x`,
    ),
    line(
      "TypeScript, ts-node's cache cold",
      `median ${m.cold.toFixed(2)} s, ${(m.cold / m.compiled).toFixed(2)}x`,
    ),
  ];
}

/**
 * A no-change `pulumi up` of the local stack (the template's settings, its own backend and
 * deploy root), against the survey alone: the same survey and target check on this machine.
 */
async function localNoChange(work: string): Promise<string[]> {
  const settings = readStackFile(path.join(ROOT, LOCAL_TEMPLATE));
  const repo = ensureSampleRepo(path.join(work, "sample-repo"));
  const root = path.join(work, "local-server", "app");
  const config = {
    ...settings,
    repo,
    deployRoot: root,
    workDir: path.join(work, "local"),
    reportDir: path.join(work, "reports"),
  };
  const stack = await ThrowawayStack.create();
  try {
    const first = await timedUp(stack, config);
    const releaseId = first.run.outputs!.artifact.releaseId;
    const ups: number[] = [];
    const surveys: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const up = await timedUp(stack, config, ["--expect-no-changes"]);
      ups.push(up.seconds);
      const runner = new LocalRunner();
      const survey = await timed(async () => {
        await runner.run(surveyScript(root, "kill-switch.json", []));
        await runner.run(targetScript(root, releaseId));
      });
      surveys.push(survey.seconds);
    }
    const beyond = median(ups) - median(surveys);
    return [
      `no-change pulumi up of the local stack (its preview and the update), ${ROUNDS} rounds:`,
      line("pulumi up --expect-no-changes", `median ${median(ups).toFixed(2)} s`),
      line("the survey alone (survey and target check)", `median ${median(surveys).toFixed(2)} s`),
      line("beyond the survey", `${beyond.toFixed(2)} s (target <= 3 s)`),
    ];
  } finally {
    stack.remove();
  }
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "ssot-bench-program-"));
  try {
    for (const part of [startUp, localNoChange]) console.log((await part(work)).join("\n"));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

runBench(main);
