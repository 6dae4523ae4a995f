import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { lockInfoFor } from "../../deploy/endpoint";
import { projectRoot } from "../../lib/paths";
import type { ArtifactSummary } from "../../gates/artifact/build";
import type { StackOutputs } from "../../tools/outputs";
import { acted, EngineRun } from "../../testbed/events";
import { deployedSuite, sshStackConfig } from "../helpers/stack";

/** The README section that shows the engine's v1 to v2 preview. */
const SECTION = "### The declared state, concern by concern";

/** The fenced block of the engine's preview in the README's section on the declared state. */
function readmeExample(): string {
  const text = fs.readFileSync(path.join(projectRoot(), "README.md"), "utf8");
  const at = text.indexOf(SECTION);
  const m = /```\n(Previewing update [\s\S]*?)```\n/.exec(text.slice(at));
  return at < 0 || !m ? "" : m[1];
}

/** Replaces every occurrence of each value with its placeholder, longest value first. */
function replaceAll(text: string, pairs: [string, string][]): string {
  return [...pairs]
    .sort(([a], [b]) => b.length - a.length)
    .reduce((t, [value, placeholder]) => t.split(value).join(placeholder), text);
}

/** An artifact's identifying values, full and as the engine and the gates shorten them. */
function artifactValues(a: ArtifactSummary, tag: string): [string, string][] {
  return [
    [a.releaseId, `<${tag}>`],
    [a.commit, `<${tag} commit>`],
    [a.commit.slice(0, 12), `<${tag} commit>`],
    [a.sha256, `<${tag} sha256>`],
    [a.sha256.slice(0, 12), `<${tag} sha256>`],
    // The engine names a file asset by the first 7 digits of its sha256.
    [`asset(file:${a.sha256.slice(0, 7)})`, `asset(file:<${tag} sha256>)`],
    [a.tarSha256, `<${tag} tar sha256>`],
    [a.manifestSha256, `<${tag} manifest sha256>`],
    [a.tree, `<${tag} tree>`],
  ];
}

/**
 * The resource blocks of a preview's text after the transaction's, sorted by the resource's
 * name: the records all wait on the transaction and then register at once, so the order the
 * engine steps through them in changes from run to run.
 */
function recordsInNameOrder(text: string, transaction: string): string {
  const [resources, rest] = text.split(/(?=^ {4}--outputs:--$)/m);
  const blocks = resources.split(/(?=^ {4}[~+-] \S+: \(\w+\)$)/m);
  const at = blocks.findIndex((b) => b.includes(`::${transaction}]`));
  const nameOf = (b: string) => /::([^:\]]+)\]\n/.exec(b)?.[1] ?? "";
  const records = blocks.slice(at + 1).sort((a, b) => nameOf(a).localeCompare(nameOf(b)));
  return [...blocks.slice(0, at + 1), ...records, rest].join("");
}

describe("a v1 to v2 pulumi preview --diff of the declared state, over SSH to a real sshd", function () {
  this.timeout(180_000);
  const s = deployedSuite();
  let v1: StackOutputs;
  let run: EngineRun;

  before(async () => {
    v1 = await s.stack.stack.outputs<StackOutputs>();
    s.repo.commit("v2", { "app/extra.py": "X = 2\n" });
    // --show-full-output: without it the engine cuts each line of the script at 150
    // characters, so where a line ends would depend on the lengths of this machine's user, host
    // name and paths, which the placeholders below replace with text of one length.
    run = await s.stack.preview(sshStackConfig(s.repo.dir, s.work, s.sshd), [
      "--diff",
      "--show-full-output",
    ]);
    expect(run.error, run.error?.message).to.equal(undefined);
  });

  it("updates the transaction, the staged release, the rollback target and current, uploads v2, and leaves the kill-switch record as it was", () => {
    const steps = acted(run);
    // The upload and the transaction come first, in that order: the transaction waits on it.
    expect(steps.slice(0, 2)).to.deep.equal(["update web1-release-upload", "update web1-deploy"]);
    expect(steps.slice(2).sort()).to.deep.equal([
      "update web1-backup-keeps",
      "update web1-promote-current",
      "update web1-release-staged",
    ]);
    expect(run.resources.find((r) => r.name === "web1-killswitch-declared")?.op).to.equal("same");
  });

  it("keeps the README's example equal to the text the engine prints for it", () => {
    const deployer = lockInfoFor(s.stack.name, projectRoot());
    const user = os.userInfo().username;
    const text = replaceAll(run.stdout, [
      [deployer.token, "<user>@<host>:<project>:<stack>"],
      [`'holder=${deployer.holder}'`, "'holder=<user>'"],
      [`'host=${deployer.host}'`, "'host=<host>'"],
      [`'"${deployer.holder}"' '"${deployer.host}"'`, `'"<user>"' '"<host>"'`],
      [`${s.repo.dir} on ${deployer.host};`, "<repo> on <host>;"],
      [`${user}@127.0.0.1:${s.sshd.port}`, "<user>@127.0.0.1:<port>"],
      [s.work, "<work>"],
      [s.stack.name, "<stack>"],
      ...artifactValues(v1.artifact, "v1"),
      ...artifactValues(run.outputs!.artifact, "v2"),
    ])
      // What the engine assigns: resource ids, and the provider's in its URN.
      .replace(/\[id=[^\]\n]+\]/g, "[id=<id>]")
      .replace(/::[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\]/g, "::<id>]")
      // The other hashes: of the sample app's files and of an empty file list.
      .replace(/(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])/g, "<sha256>")
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>")
      .replace(/\/\d{8}T\d{9}Z\.md\b/g, "/<time>.md")
      .replace(/\b\d+ MiB free\b/g, "<n> MiB free")
      // Prettier, which formats the README, drops a line's trailing spaces (after "stdin:").
      .replace(/ +$/gm, "");
    const shown = recordsInNameOrder(text, "web1-deploy");
    // The diff shows the transaction's script line by line, v2's id among the changed lines.
    expect(shown).to.contain(`          + ID='<v2>'\n`);
    expect(readmeExample(), `the README's example should read:\n${shown}`).to.equal(shown);
  });
});
