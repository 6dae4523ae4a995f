import { expect } from "chai";
import fc from "fast-check";
import { ExcludeFilter } from "../../../gates/artifact/excludes";

describe("ExcludeFilter", () => {
  const builtin = new ExcludeFilter();
  const excluded = [
    ".env",
    "config/.env.production",
    "app/__pycache__/m.cpython-311.pyc",
    "lib/x.pyc",
    ".pytest_cache/v/cache/nodeids",
    ".mypy_cache/3.11/app.json",
    ".venv/bin/python",
    "web/node_modules/left-pad/index.js",
    "deploy/id_ed25519",
    "certs/server.key",
    "Assets/.DS_Store",
    ".git/config",
  ];
  const kept = [
    "app/main.py",
    "env.py",
    "docs/environment.md",
    "deploy/id_ed25519.pub",
    "keys.py",
    "src/__pycache__.md",
    ".gitignore",
  ];

  for (const p of excluded) it(`leaves out ${p}`, () => expect(builtin.excludes(p)).to.equal(true));
  for (const p of kept) it(`keeps ${p}`, () => expect(builtin.excludes(p)).to.equal(false));

  it("anchors a configured pattern with a slash at the repository root", () => {
    const f = new ExcludeFilter(["docs/**", "*.log"]);
    expect(f.excludes("docs/a/b.md")).to.equal(true);
    expect(f.excludes("src/docs/a.md")).to.equal(false);
    expect(f.excludes("src/deep/run.log")).to.equal(true);
  });

  it("matches a trailing-slash pattern against directories only", () => {
    const f = new ExcludeFilter(["build/"]);
    expect(f.excludes("build", false)).to.equal(false);
    expect(f.excludes("build", true)).to.equal(true);
    expect(f.excludes("x/build/out.js")).to.equal(true);
  });

  it("excludes everything beneath an excluded directory, at any depth", () => {
    const segment = fc.stringMatching(/^[a-z0-9_.-]{1,8}$/).filter((s) => s !== "." && s !== "..");
    fc.assert(
      fc.property(
        fc.array(segment, { maxLength: 4 }),
        fc.array(segment, { minLength: 1, maxLength: 4 }),
        (pre, post) => {
          const p = [...pre, "node_modules", ...post].join("/");
          expect(builtin.excludes(p)).to.equal(true);
        },
      ),
    );
  });
});
