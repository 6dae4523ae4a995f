import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../lib/paths";

const TESTS = path.join(projectRoot(), "tests");
/** The one place a test may be skipped: only when the process is not root (CI is root). */
const ROOT_ONLY = path.join("helpers", "root.ts");

describe("the tests' skips", () => {
  it("skips a test nowhere but in rootOnly, so that none is skipped as root", () => {
    const skipping = fs
      .readdirSync(TESTS, { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts") && f !== ROOT_ONLY)
      .flatMap((f) =>
        fs
          .readFileSync(path.join(TESTS, f), "utf8")
          .split("\n")
          .flatMap((line, i) =>
            /\.skip\(|\bx(it|describe)\(|\bit\.skip\b|\bdescribe\.skip\b/.test(line)
              ? [`${f}:${i + 1}: ${line.trim()}`]
              : [],
          ),
      );
    expect(skipping).to.deep.equal([]);
  });
});
