import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { KEY_SPECS, SECRET_KEYS } from "../../config/stack";
import { readStackFile } from "../../config/stackFile";
import { projectRoot } from "../../lib/paths";
import { EngineRun } from "../../testbed/events";
import { tempDir } from "../helpers/repo";
import { engineStack } from "../helpers/stack";

/** Runs `npm run <script> -- <args>` as node runs it, from the compiled entry point. */
const run = (script: string, args: string[]) => {
  const r = spawnSync(
    process.execPath,
    [path.join(projectRoot(), "dist", "scripts", `${script}.js`), ...args],
    { encoding: "utf8" },
  );
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe("a misspelt field inside an object, refused alike by pulumi preview and by every command that reads the stack", function () {
  this.timeout(180_000);
  const held = engineStack();
  let work: string;
  let preview: EngineRun;

  before(async () => {
    work = tempDir();
    preview = await held.stack.preview({
      repo: path.join(work, "repo"),
      testCommand: "true",
      target: "local",
      deployRoot: path.join(work, "server", "app"),
      workDir: path.join(work, "local"),
      reportDir: path.join(work, "reports"),
      proof: JSON.stringify([{ name: "answers", command: "true", expectedOutput: "^ok$" }]),
      // Encrypted into the stack file ("secure"): Pulumi.yaml cannot declare them, and neither
      // the program nor a command may call them unknown.
      ...Object.fromEntries(SECRET_KEYS.map((k) => [k, `the ${k}`])),
    });
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it("pulumi preview refuses proof[0].expectedOutput with the exact text, and registers no resource", () => {
    expect(preview.code).to.not.equal(0);
    expect(preview.error?.message).to.equal(
      [
        "BLOCKED: invalid configuration, 1 problem(s). Nothing was changed.",
        `- config key "ssot-deploy:proof" must be ${KEY_SPECS.proof.rule} (got proof[0].expectedOutput, a field proof[0] does not have: did you mean expectOutput?). Fix: pulumi config rm --path 'proof[0].expectedOutput', then pulumi config set --path 'proof[0].expectOutput' <its value>`,
      ].join("\n"),
    );
    expect(preview.resources).to.deep.equal([]);
  });

  // Each as an operator types it for a stack whose settings are not in this project; verify
  // reads its attestation before the stack, so any file lets it reach the stack.
  const commands: [string, () => string[]][] = [
    ["status", () => []],
    ["lock", () => ["status"]],
    ["verify", () => ["--attestation", path.join(work, "attestation.json")]],
    ["reconcile", () => []],
  ];
  for (const [script, args] of commands) {
    it(`npm run ${script} refuses the same stack file, its secrets encrypted in it, with the text pulumi preview gave, exit 1`, () => {
      const raw = readStackFile(held.stack.configFile);
      for (const k of SECRET_KEYS) expect(JSON.parse(raw[k]), k).to.have.property("secure");
      fs.writeFileSync(path.join(work, "attestation.json"), "{}");
      const stack = ["--stack", held.stack.name, "--config-file", held.stack.configFile];
      const r = run(script, [...args(), ...stack]);
      expect(preview.error, "pulumi preview was not refused").to.not.equal(undefined);
      expect(r.err.trimEnd()).to.equal(preview.error!.message);
      expect(r.code).to.equal(1);
    });
  }
});
