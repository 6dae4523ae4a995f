import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { projectRoot } from "../../lib/paths";
import { SECRET_KEYS } from "../../config/stack";

interface Declared {
  type: string;
  secret?: boolean;
  default?: unknown;
}

/** The README's configuration table, row by row: key, type, default. */
function readmeTable(): Map<string, { type: string; default: string }> {
  const text = fs.readFileSync(path.join(projectRoot(), "README.md"), "utf8");
  const section = text.slice(text.indexOf("## Configuration"));
  const rows = new Map<string, { type: string; default: string }>();
  for (const line of section.split("\n")) {
    const m = /^\| `(\w+)` +\| ([^|]+?) +\| (.+?) +\| .+\|$/.exec(line);
    if (m) rows.set(m[1], { type: m[2], default: m[3] });
    if (rows.size > 0 && !line.startsWith("|")) break;
  }
  return rows;
}

/** JSON on one line, with a space after each comma and colon, as the table writes a default. */
function inline(v: unknown): string {
  return JSON.stringify(v, null, 1)
    .replace(/\n */g, " ")
    .replace(/([[{]) /g, "$1")
    .replace(/ ([\]}])/g, "$1");
}

describe("the README's configuration table", () => {
  it("lists every key Pulumi.yaml declares, and no other, with the same type and default", () => {
    const project = yaml.load(fs.readFileSync(path.join(projectRoot(), "Pulumi.yaml"), "utf8")) as {
      config: Record<string, Declared>;
    };
    const expected = Object.entries(project.config).map(([key, d]) => [
      key,
      {
        type: `${d.secret ? "secret " : ""}${d.type}`,
        default: d.default === undefined ? "required" : `\`${inline(d.default)}\``,
      },
    ]);
    const table = readmeTable();
    expect([...table].filter(([k]) => !SECRET_KEYS.includes(k))).to.deep.equal(expected);
  });

  it("lists the secrets Pulumi.yaml cannot declare, each a secret string unset by default", () => {
    const rows = [...readmeTable()].filter(([, r]) => r.type.startsWith("secret"));
    expect(rows.map(([k]) => k).sort()).to.deep.equal([...SECRET_KEYS].sort());
    for (const [k, r] of rows)
      expect(r, k).to.deep.equal({ type: "secret string", default: "unset" });
  });
});
