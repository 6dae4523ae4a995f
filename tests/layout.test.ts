import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { projectRoot } from "../lib/paths";

const ROOT = projectRoot();
/** The pipeline's folders, in the order their imports run, as the import rule names them. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rules = require(path.join(ROOT, ".dependency-cruiser.cjs")) as {
  forbidden: { name: string }[];
};
const LAYERS = rules.forbidden
  .map((r) => /^(\w+)-imports-downward-only$/.exec(r.name)?.[1])
  .filter((l): l is string => l !== undefined);

/** Every TypeScript source file under `dir`, relative to the project. */
function sources(dir: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => path.join(dir, f));
}

const lines = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8").split("\n").length;

describe("the layout", () => {
  it("keeps every folder of the pipeline to about fifteen source files", () => {
    const crowded = LAYERS.flatMap((layer) => {
      const byFolder = new Map<string, number>();
      for (const f of sources(layer))
        byFolder.set(path.dirname(f), (byFolder.get(path.dirname(f)) ?? 0) + 1);
      return [...byFolder].filter(([, n]) => n > 15).map(([d, n]) => `${d}: ${n}`);
    });
    expect(crowded).to.deep.equal([]);
  });

  it("keeps every module under 300 lines, and index.ts, wiring only, under 90", () => {
    const long = [...LAYERS, "scripts", "testbed", "bench"]
      .flatMap(sources)
      .filter((f) => lines(f) > 300)
      .map((f) => `${f}: ${lines(f)}`);
    expect(long).to.deep.equal([]);
    expect(lines("index.ts")).to.be.below(90);
  });

  it("names the pipeline's folders from the import rule, components among them", () => {
    expect(LAYERS).to.include.members(["config", "gates", "survey", "components", "evidence"]);
  });

  it("keeps every ComponentResource in components/, one per file", () => {
    const found = [".", ...LAYERS, "scripts", "testbed"].flatMap((dir) =>
      (dir === "." ? ["index.ts"] : sources(dir)).map((f) => ({
        f,
        n: (
          fs
            .readFileSync(path.join(ROOT, f), "utf8")
            .match(/extends pulumi\.ComponentResource\b/g) ?? []
        ).length,
      })),
    );
    const misplaced = found
      .filter((x) => x.n > 0 && !x.f.startsWith("components/"))
      .map((x) => x.f);
    const crowded = found.filter((x) => x.n > 1).map((x) => x.f);
    expect(misplaced, "outside components/").to.deep.equal([]);
    expect(crowded, "more than one in a file").to.deep.equal([]);
    expect(found.filter((x) => x.n === 1).length).to.be.at.least(10);
  });

  it("gives every field of every exported *Args interface a doc comment", () => {
    const undocumented: string[] = [];
    for (const file of LAYERS.flatMap(sources)) {
      const text = fs.readFileSync(path.join(ROOT, file), "utf8");
      const src = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
      src.forEachChild((node) => {
        if (!ts.isInterfaceDeclaration(node) || !node.name.text.endsWith("Args")) return;
        for (const m of node.members) {
          if (ts.getJSDocCommentsAndTags(m).length === 0)
            undocumented.push(`${file}: ${node.name.text}.${m.name?.getText(src)}`);
        }
      });
    }
    expect(undocumented).to.deep.equal([]);
  });
});
