import { expect } from "chai";
import fc from "fast-check";
import { formatManifest, manifestLine, parseManifest } from "../../../gates/artifact/manifest";

const digest = "a".repeat(64);

describe("manifest", () => {
  it("writes a plain name in sha256sum's two-space form", () => {
    expect(manifestLine(digest, "app/main.py")).to.equal(`${digest}  app/main.py\n`);
  });

  it("escapes a backslash or newline in a name the way sha256sum does", () => {
    expect(manifestLine(digest, "a\\b\nc")).to.equal(`\\${digest}  a\\\\b\\nc\n`);
  });

  it("parses back every name it writes", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ minLength: 1 }).filter((s) => !s.includes("\0"))),
        (names) => {
          const entries = names.map((path) => ({ path, sha256: digest }));
          expect(parseManifest(formatManifest(entries))).to.deep.equal(entries);
        },
      ),
    );
  });

  it("refuses a line that is not in sha256sum format", () => {
    expect(() => parseManifest("nothex  file\n")).to.throw(
      'manifest line is not in sha256sum format: "nothex  file"',
    );
  });
});
