import { expect } from "chai";
import { createPrivateKey } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { signEnvelope } from "../../evidence/dsse";
import { canonicalJson } from "../../evidence/jcs";
import { PROVENANCE_TYPE, Statement } from "../../evidence/statements";
import { BuiltArtifact } from "../../gates/artifact/build";
import { SshSession } from "../../survey/ssh";
import { signingKeyPair } from "../helpers/attest";
import { expectRefused, expectRunRefused, refusalOf } from "../helpers/catalogue";
import { artifactOf, deployOver, OPERATOR, signedOf, snapshot } from "../helpers/release";
import { engineStack, sshStackConfig, sshSuite } from "../helpers/stack";
import { tally } from "../helpers/tally";

const NEXT_BY_COMMIT =
  "or roll back by commit, which tests and builds again: pulumi config set release '' && pulumi config set ref <commit>";

describe("bad input in a rollback by release: an uncovered entry, swapped or foreign evidence, a malformed envelope", function () {
  this.timeout(180_000);
  const s = sshSuite();
  const held = engineStack();
  const signer = signingKeyPair();
  let v1: string;
  let v2: string;
  const cfg = (over: Record<string, string> = {}) =>
    sshStackConfig(s.repo.dir, s.work, s.sshd, { attestationKey: signer.privateKey, ...over });
  const up = (over: Record<string, string> = {}) => held.stack.up(cfg(over));
  const rel = (...p: string[]) => path.join(s.root, "releases", v1, ...p);
  const evidence = () => path.join(s.root, ".deploy", "manifests", `${v1}.intoto.jsonl`);
  const current = () => fs.readlinkSync(path.join(s.root, "current"));

  before(async () => {
    const a = await up();
    if (a.error) throw a.error;
    v1 = a.outputs!.artifact.releaseId;
    s.repo.commit("v2", { "app/VERSION": "2\n" });
    const b = await up();
    if (b.error) throw b.error;
    v2 = b.outputs!.artifact.releaseId;
  });

  /** Plants `plant` in the kept release, refuses the rollback to it, and takes it out again. */
  async function refusedWith(plant: () => () => void, gap: string) {
    const undo = plant();
    try {
      const before = snapshot(s.root);
      const run = await up({ release: v1 });
      expectRunRefused("rollback", run, gap, before, snapshot(s.root));
      expect(current()).to.equal(`releases/${v2}`);
    } finally {
      undo();
    }
  }

  const uncovered = (what: string) =>
    `release ${v1} on web1 holds 1 entry its signed entries list does not cover: ${what}: it was changed after it was staged`;

  it("refuses a file planted in the kept release, naming it", () =>
    refusedWith(() => {
      fs.writeFileSync(rel("app", "planted.py"), "import os\n");
      return () => fs.rmSync(rel("app", "planted.py"));
    }, uncovered("app/planted.py (file)")));

  it("refuses a symlink planted in the kept release, naming it", () =>
    refusedWith(() => {
      fs.symlinkSync("/tmp/evil.py", rel("sitecustomize.py"));
      return () => fs.rmSync(rel("sitecustomize.py"));
    }, uncovered("sitecustomize.py (symlink)")));

  it("refuses evidence another stack signed with the same key, naming both stacks", () =>
    refusedWith(() => {
      const text = fs.readFileSync(evidence(), "utf8");
      fs.writeFileSync(
        evidence(),
        resigned(text, (p) => (p.stack = "elsewhere")),
      );
      return () => fs.writeFileSync(evidence(), text);
    }, `the evidence kept with release ${v1} on web1 is not trusted: it was signed for project ssot-deploy, stack elsewhere, not for this one (project ssot-deploy, stack ${held.stack.name})`));

  /** The evidence's envelopes with the provenance's internal parameters edited, signed again. */
  function resigned(text: string, edit: (params: Record<string, unknown>) => void): string {
    const key = createPrivateKey(signer.privateKey);
    return text
      .trim()
      .split("\n")
      .map((line) => {
        const env = JSON.parse(line) as { payload: string };
        const st = JSON.parse(Buffer.from(env.payload, "base64").toString("utf8")) as Statement;
        if (st.predicateType === PROVENANCE_TYPE)
          edit(
            (st.predicate.buildDefinition as { internalParameters: Record<string, unknown> })
              .internalParameters,
          );
        return JSON.stringify(signEnvelope(Buffer.from(canonicalJson(st), "utf8"), key));
      })
      .join("\n")
      .concat("\n");
  }

  // Each malformed first line, and the exact fault a rollback names instead of a TypeError.
  const malformed: [string, (env: Record<string, unknown>) => string, string][] = [
    [
      "a null signature",
      (e) => JSON.stringify({ ...e, signatures: [null] }),
      "line 1: its signatures[0] is null, not an object",
    ],
    [
      "no payload",
      (e) => JSON.stringify({ ...e, payload: undefined }),
      "line 1: its payload is missing",
    ],
    [
      "a signature that is not a string",
      (e) => JSON.stringify({ ...e, signatures: [{ keyid: "k", sig: 5 }] }),
      "line 1: its signatures[0].sig is a number",
    ],
    ["a line that is not JSON", () => '{"payloadType":', "line 1 is not JSON"],
  ];
  for (const [name, line, fault] of malformed)
    it(`refuses an envelope with ${name}, naming the fault`, () =>
      refusedWith(() => {
        const text = fs.readFileSync(evidence(), "utf8");
        const [first, ...rest] = text.split("\n");
        fs.writeFileSync(
          evidence(),
          [line(JSON.parse(first) as Record<string, unknown>), ...rest].join("\n"),
        );
        return () => fs.writeFileSync(evidence(), text);
      }, `the evidence kept with release ${v1} on web1 is not trusted: it is not a list of DSSE envelopes: ${fault}`));

  it("refuses, under the lock, a manifest swapped after the survey read it, with current untouched and the lock given back", async () => {
    // The survey's check has passed (the gates ran on this release before); then the server's
    // manifest and tree change together, so that only the signed digest can tell.
    const built: BuiltArtifact = await artifactOf(s.repo, v1FullCommit(), path.join(s.work, "b"));
    expect(built.releaseId).to.equal(v1);
    const ssh = await SshSession.connect(s.sshd.target());
    try {
      fs.appendFileSync(rel("app", "service.py"), "# swapped\n");
      const man = path.join(s.root, ".deploy", "manifests", `${v1}.sha256sums`);
      const text = fs.readFileSync(man, "utf8");
      const sum = (
        await ssh.run(`sha256sum < '${rel("app", "service.py")}' | cut -c1-64`)
      ).stdout.trim();
      fs.writeFileSync(man, text.replace(/^\S+(?= {2}app\/service\.py$)/m, sum));
      const got = (await ssh.run(`sha256sum < '${man}' | cut -c1-64`)).stdout.trim();
      const before = snapshot(s.root);
      const out = await deployOver(ssh, s.root, built, OPERATOR, {
        kept: signedOf(built),
        sharedFiles: [".env", "kill-switch.json"],
      });
      expectRefused(
        "rollback",
        out.blocked,
        `the manifest of release ${v1} on this server (sha256 ${got}) is not the one its signed evidence names (${built.manifestSha256}): it changed after the survey read it; current was not switched; run pulumi preview to see what the servers hold now, and inspect ${rel()} (it is evidence, and is never switched to); ${NEXT_BY_COMMIT}`,
        before,
        snapshot(s.root),
      );
      expect(current()).to.equal(`releases/${v2}`);
      expect(fs.existsSync(path.join(s.root, ".deploy", "lock"))).to.equal(false);
      fs.writeFileSync(man, text);
    } finally {
      ssh.close();
    }
    const undo = fs.readFileSync(rel("app", "service.py"), "utf8").replace("# swapped\n", "");
    fs.writeFileSync(rel("app", "service.py"), undo);
  });

  const v1FullCommit = () => s.repo.git("rev-list", "--max-parents=0", "HEAD");

  it("removes what was written under an excluded path in the kept release before the switch, and says so", async () => {
    fs.mkdirSync(rel("app", "__pycache__"));
    fs.writeFileSync(rel("app", "__pycache__", "service.cpython-311.pyc"), "planted\n");
    const run = await up({ release: v1 });
    const g0 = run.outputs?.gates.filter((g) => g.id === "G0").map((g) => g.detail) ?? [];
    const named = g0.some((d) =>
      d.endsWith(
        "; entries under excluded paths, not covered, are removed under the lock before the switch: web1: app/__pycache__",
      ),
    );
    const gone = !fs.existsSync(rel("app", "__pycache__"));
    // Held: the uncovered entry never went live, and the run named it.
    tally.inputs.push({ category: "rollback", held: run.error === undefined && named && gone });
    expect(refusalOf(run.error), run.error?.message).to.equal(undefined);
    expect(named, g0.join("\n")).to.equal(true);
    expect(gone).to.equal(true);
    expect(current()).to.equal(`releases/${v1}`);
  });
});
