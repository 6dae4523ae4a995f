import { expect } from "chai";
import { createHash } from "node:crypto";
import { diffTrees, expectDifferences } from "../../tools/reconcile/diff";
import { parseServerTree } from "../../remote/serverTree";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const H = (c: string) => c.repeat(64);

describe("the reconcile change set", () => {
  const base = {
    files: new Map([
      ["a.py", H("a")],
      ["run.sh", H("b")],
      ["gone.py", H("c")],
    ]),
    links: new Map([["latest", "a.py"]]),
  };

  it("lists added, modified (content or executable bit) and deleted paths, and retargeted links", () => {
    const server = {
      files: new Map([
        ["a.py", { sha256: H("a"), exec: false }],
        ["run.sh", { sha256: H("b"), exec: true }],
        ["new.py", { sha256: H("d"), exec: false }],
      ]),
      links: new Map([["latest", "new.py"]]),
    };
    expect(diffTrees(server, base, sha)).to.deep.equal([
      { path: "gone.py", kind: "deleted" },
      {
        path: "latest",
        kind: "modified",
        sha256: sha("new.py"),
        mode: "120000",
        linkTarget: "new.py",
      },
      { path: "new.py", kind: "added", sha256: H("d"), mode: "100644" },
      { path: "run.sh", kind: "modified", sha256: H("b"), mode: "100755" },
    ]);
  });

  it("names every difference from the expected manifest, and none when they agree", () => {
    const changes = [
      { path: "x.py", kind: "modified" as const, sha256: H("1") },
      { path: "y.py", kind: "deleted" as const },
    ];
    expect(expectDifferences(changes, new Map([["x.py", H("1")]]))).to.deep.equal([
      "y.py: deleted on the server but not in the expected manifest",
    ]);
    expect(
      expectDifferences(
        changes.slice(0, 1),
        new Map([
          ["x.py", H("2")],
          ["z.py", H("3")],
        ]),
      ),
    ).to.deep.equal([
      `x.py: sha256 ${H("1").slice(0, 12)} on the server, ${H("2").slice(0, 12)} expected`,
      `z.py: expected (sha256 ${H("3").slice(0, 12)}) but unchanged on the server`,
    ]);
    expect(expectDifferences(changes.slice(0, 1), new Map([["x.py", H("1")]]))).to.deep.equal([]);
  });

  it("reads the tree survey with any file name, newlines and spaces included", () => {
    const out =
      "path=/srv/app/releases/r1\nrelease=r1\nrelease_commit=abc\n@@data\n" +
      `${H("a")}  ./odd\nname.py\0${H("b")}  ./with space.sh\0@@links\0l\0odd\nname.py\0@@exec\0with space.sh\0@@end\0`;
    const t = parseServerTree(out);
    expect([t.path, t.release, t.releaseCommit]).to.deep.equal([
      "/srv/app/releases/r1",
      "r1",
      "abc",
    ]);
    expect([...t.files]).to.deep.equal([
      ["odd\nname.py", { sha256: H("a"), exec: false }],
      ["with space.sh", { sha256: H("b"), exec: true }],
    ]);
    expect([...t.links]).to.deep.equal([["l", "odd\nname.py"]]);
  });
});
