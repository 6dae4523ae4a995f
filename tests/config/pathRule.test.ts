import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as net from "node:net";
import * as path from "node:path";
import fc from "fast-check";
import * as fs from "node:fs";
import { ConfigError } from "../../config/errors";
import { refusalOf } from "../helpers/catalogue";
import { FixtureRepo, PY_TEST_COMMAND, tempDir } from "../helpers/repo";
import { engineStack } from "../helpers/stack";
import { PATH_RULE, pathProblem, PathShape } from "../../config/pathRule";
import { q } from "../../remote/sh";
import { parseStackConfig } from "../../config/stack";

const HOST = {
  name: "web1",
  host: "127.0.0.1",
  port: 22,
  user: "deploy",
  hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey",
};
const BASE: Record<string, string> = {
  repo: "/srv/repo",
  testCommand: "make test",
  target: "ssh",
  hosts: JSON.stringify([HOST]),
  deployRoot: "/srv/app",
};

/** Every path-like key, and how a value of it is put into raw config. */
const KEYS: Record<string, (v: string) => Record<string, string>> = {
  deployRoot: (v) => ({ deployRoot: v }),
  sharedFiles: (v) => ({ sharedFiles: JSON.stringify([v]) }),
  killSwitchFile: (v) => ({
    killSwitch: JSON.stringify({ file: v, key: "execution_enabled", format: "json", value: false }),
  }),
  workDir: (v) => ({ workDir: v }),
  reportDir: (v) => ({ reportDir: v }),
  hostName: (v) => ({ hosts: JSON.stringify([{ ...HOST, name: v }]) }),
};

// Segments chosen to hit every part of the rule, joined into paths of every shape.
const segment = fc.oneof(
  fc.constantFrom("", ".", "..", "app", "srv", ".env", "a b", " lead", "trail ", "$HOME", "'q'"),
  fc.constantFrom("\n", "x\ty", "\u0000", "\u007f", "\u0085", "é", "`id`", "*", "-x", "\\"),
  fc.string({ maxLength: 6 }),
);
const pathLike = fc
  .tuple(fc.boolean(), fc.array(segment, { minLength: 1, maxLength: 5 }), fc.boolean())
  .map(([abs, segs, slash]) => `${abs ? "/" : ""}${segs.join("/")}${slash ? "/" : ""}`);
// An empty value is an unset key (its default), not a path.
const anyValue = fc
  .oneof(pathLike, fc.string({ unit: "binary", maxLength: 20 }))
  .filter((v) => v !== "");

/** The config key a refusal of a value of `key` names. */
const keyNamed = (key: string) =>
  key === "killSwitchFile" ? "killSwitch" : key === "hostName" ? "hosts" : key;

/** Values that break the rule in every shape: a control character, whitespace, a bad segment. */
const BAD = ["/srv/app\n", "/srv/app ", "a//b", "a/./b", "../x", " x", "x\t"];

/** Parses BASE with `over`; the accepted config, or the keys a ConfigError named. */
function parse(over: Record<string, string>) {
  try {
    return { config: parseStackConfig({ ...BASE, ...over }, "/project") };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { refused: e.problems.map((p) => p.key.replace(/^ssot-deploy:/, "")) };
  }
}

/** What sh makes of each value quoted as every remote script quotes it, NUL-separated. */
function throughSh(values: readonly string[]): string[] {
  const out = execFileSync("sh", ["-c", values.map((v) => `printf '%s\\0' ${q(v)}`).join("\n")]);
  return out.toString("utf8").split("\0").slice(0, -1);
}

describe("the path rule", () => {
  const cases: [string, PathShape, string | undefined][] = [
    ["/srv/app", "absolute", undefined],
    ["/srv/app/", "absolute", undefined],
    ["/srv/app\n", "absolute", "it holds the control character U+000A"],
    ["/srv/app ", "absolute", "it ends with whitespace"],
    [" /srv/app", "absolute", "it starts with whitespace"],
    ["/srv//app", "absolute", "it has an empty segment ('//')"],
    ["/srv/./app", "absolute", "it has a '.' segment"],
    ["/srv/../etc", "absolute", "it has a '..' segment"],
    ["/", "absolute", "it names /"],
    ["srv/app", "absolute", "it is not absolute"],
    ["kill-switch.json", "relative", undefined],
    ["config/.env", "relative", undefined],
    ["/etc/passwd", "relative", "it is absolute"],
    ["config/", "relative", "it ends with '/'"],
    ["web1", "segment", undefined],
    ["../web1", "segment", "it holds a '/'"],
  ];
  for (const [value, shape, problem] of cases) {
    it(`says ${problem ?? "nothing is wrong"} of ${JSON.stringify(value)}, a ${shape} path`, () =>
      expect(pathProblem(value, shape)).to.equal(problem));
  }

  it("lets only a leading '..' through where parents are allowed (the SSOT repo beside the project)", () => {
    expect(pathProblem("../src/app", "directory", "allowed")).to.equal(undefined);
    expect(pathProblem("src/../app", "directory", "allowed")).to.equal("it has a '..' segment");
    expect(pathProblem("/srv/../app", "directory", "allowed")).to.equal("it has a '..' segment");
  });

  for (const [key, put] of Object.entries(KEYS)) {
    it(`accepts a ${key} only when it keeps the rule, and then names the same path after quoting`, () => {
      const accepted: [string, string][] = [];
      fc.assert(
        fc.property(anyValue, (v) => {
          const r = parse(put(v));
          const shape: PathShape =
            key === "hostName"
              ? "segment"
              : key === "sharedFiles" || key === "killSwitchFile"
                ? "relative"
                : key === "deployRoot"
                  ? "absolute"
                  : "directory";
          if (r.config === undefined) {
            // Refused, and by the key it was given to.
            expect(r.refused).to.include(keyNamed(key));
            return;
          }
          expect(pathProblem(v, shape), JSON.stringify(v)).to.equal(undefined);
          const parsed = {
            deployRoot: r.config.deploy.deployRoot,
            sharedFiles: r.config.deploy.sharedFiles[0],
            killSwitchFile: r.config.deploy.killSwitch.file,
            workDir: r.config.source.workDir,
            reportDir: r.config.source.reportDir,
            hostName: r.config.deploy.hosts[0]?.name,
          }[key]!;
          // The same path: only a directory's one trailing slash (and, on this machine, the
          // project prefix of a relative path) may differ.
          const named = key === "workDir" || key === "reportDir" ? path.resolve("/project", v) : v;
          expect(parsed).to.equal(named.length > 1 ? named.replace(/\/$/, "") : named);
          accepted.push([v, parsed]);
        }),
        { numRuns: 300 },
      );
      const back = throughSh(accepted.map(([, p]) => p));
      expect(back).to.deep.equal(accepted.map(([, p]) => p));
    });
  }

  it("refuses each bad path by the key it was given to, and by that key alone", () => {
    for (const [key, put] of Object.entries(KEYS))
      for (const v of BAD)
        expect(parse(put(v)).refused, `${key} = ${JSON.stringify(v)}`).to.deep.equal([
          keyNamed(key),
        ]);
  });

  describe("through pulumi preview", function () {
    this.timeout(120_000);
    const held = engineStack();

    it("refuses a bad path before any SSH connection is made, and reaches the server once the paths are good", async () => {
      const repo = FixtureRepo.create();
      const work = tempDir();
      let connections = 0;
      const server = net.createServer((s) => {
        connections++;
        s.destroy();
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const port = (server.address() as net.AddressInfo).port;
      try {
        const good = {
          ...BASE,
          hosts: JSON.stringify([{ ...HOST, port }]),
          repo: repo.dir,
          testCommand: PY_TEST_COMMAND,
          workDir: work,
          reportDir: path.join(work, "reports"),
        };
        // Two of the values the parser refuses above: a newline, which makes one path two on the
        // server, and a climb out of shared/ in a list, which the settings hold as YAML.
        const bad: [Record<string, string>, string][] = [
          [
            KEYS.deployRoot("/srv/app\n"),
            `- config key "ssot-deploy:deployRoot" must be a directory path with ${PATH_RULE} (absolute for target ssh) (got "/srv/app\\n": it holds the control character U+000A). Fix: pulumi config set deployRoot /srv/app`,
          ],
          [
            KEYS.sharedFiles("../x"),
            `- config key "ssot-deploy:sharedFiles" must be a list of relative paths with ${PATH_RULE} (got sharedFiles[0] = "../x": it has a '..' segment). Fix: pulumi config set --path 'sharedFiles[0]' .env`,
          ],
        ];
        for (const [over, refusal] of bad) {
          const run = await held.stack.preview({ ...good, ...over });
          expect(run.resources).to.deep.equal([]);
          expect(refusalOf(run.error)).to.equal(refusal);
        }
        expect(connections).to.equal(0);
        // The same config with every path good does reach the server: the count can move.
        const reached = await held.stack.preview(good);
        expect(refusalOf(reached.error)).to.match(
          new RegExp(`^server web1: deploy@127\\.0\\.0\\.1:${port} is unreachable: `),
        );
        expect(connections).to.be.above(0);
      } finally {
        server.close();
        repo.remove();
        fs.rmSync(work, { recursive: true, force: true });
      }
    });
  });
});
