import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { requireFreshBuild, staleSources } from "../../lib/freshBuild";
import { tempDir } from "../helpers/repo";

/** Writes `rel` under `dir` with its modification time `seconds` after the epoch. */
function put(dir: string, rel: string, seconds: number): void {
  const file = path.join(dir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, "");
  fs.utimesSync(file, seconds, seconds);
}

describe("the compiled program's freshness", () => {
  let root: string;
  let dist: string;
  beforeEach(() => {
    root = tempDir();
    dist = path.join(root, "dist");
    put(root, "index.ts", 100);
    put(root, "config/stack.ts", 100);
    put(root, "gates/artifact/build.ts", 100);
    put(dist, "index.js", 200);
    put(dist, "config/stack.js", 200);
    put(dist, "gates/artifact/build.js", 200);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("finds nothing stale when every source is older than its compiled file", () => {
    expect(staleSources(root, dist)).to.deep.equal([]);
    expect(() => requireFreshBuild(root, dist)).to.not.throw();
  });

  it("names a source edited after its build, and one never built, at any depth", () => {
    put(root, "gates/artifact/build.ts", 300);
    put(root, "evidence/new.ts", 100);
    expect(staleSources(root, dist).sort()).to.deep.equal([
      "evidence/new.ts",
      "gates/artifact/build.ts",
    ]);
  });

  it("ignores tests and declaration files, which the program does not run", () => {
    put(root, "tests/x.test.ts", 300);
    put(root, "lib/types.d.ts", 300);
    expect(staleSources(root, dist)).to.deep.equal([]);
  });

  it("refuses a stale build naming the file and the command that rebuilds it", () => {
    put(root, "index.ts", 300);
    expect(() => requireFreshBuild(root, dist)).to.throw(
      `BLOCKED: the compiled program in ${dist} is older than its source (index.ts). Nothing was changed.\nNext: npm run build, then run pulumi again.`,
    );
  });
});
