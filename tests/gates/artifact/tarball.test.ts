import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { formatManifest } from "../../../gates/artifact/manifest";
import { buildTarball, TarballResult } from "../../../gates/artifact/tarball";
import { FixtureRepo, PY_APP, tempDir } from "../../helpers/repo";

describe("the artifact tarball", function () {
  this.timeout(60_000);
  let repo: FixtureRepo;
  let out: string;
  let commit: string;
  let first: TarballResult;
  const mtime = 1767225600; // 2026-01-01T00:00:00Z

  before(async () => {
    repo = FixtureRepo.create({
      ...PY_APP,
      "run.sh": "#!/bin/sh\necho run\n",
      "app/__pycache__/service.cpython-311.pyc": "bytecode",
      ".env": "SECRET=1\n",
      "docs/notes.md": "export-ignored\n",
      ".gitattributes": "docs/ export-ignore\n",
      [`deep/${"d".repeat(120)}/${"f".repeat(150)}.txt`]: "long name\n",
    });
    fs.chmodSync(path.join(repo.dir, "run.sh"), 0o755);
    // .gitignore lists __pycache__/ and .env; force them in, as a careless commit would.
    repo.git("add", "-f", "app/__pycache__/service.cpython-311.pyc", ".env");
    repo.git("commit", "-q", "-m", "add ignored files");
    fs.symlinkSync("app/service.py", path.join(repo.dir, "service-link"));
    commit = repo.commit("link");
    out = tempDir();
    first = await buildTarball({
      repo: repo.dir,
      commit,
      mtime,
      exclude: ["*.md"],
      outPath: path.join(out, "a.tar.gz"),
    });
  });
  after(() => {
    repo.remove();
    fs.rmSync(out, { recursive: true, force: true });
  });

  it("is byte-identical when the same commit is built twice", async () => {
    const second = await buildTarball({
      repo: repo.dir,
      commit,
      mtime,
      exclude: ["*.md"],
      outPath: path.join(out, "b.tar.gz"),
    });
    expect(second.sha256).to.equal(first.sha256);
    expect(
      fs
        .readFileSync(path.join(out, "b.tar.gz"))
        .equals(fs.readFileSync(path.join(out, "a.tar.gz"))),
    ).to.equal(true);
  });

  it("records the sha256 and size of the file it wrote", () => {
    const bytes = fs.readFileSync(path.join(out, "a.tar.gz"));
    expect(first.bytes).to.equal(bytes.length);
    expect(
      execFileSync("sha256sum", [path.join(out, "a.tar.gz")], { encoding: "utf8" }).split(" ")[0],
    ).to.equal(first.sha256);
  });

  it("lists in GNU tar exactly the committed tree minus the excludes, sorted", () => {
    const listing = execFileSync("tar", ["-tzf", path.join(out, "a.tar.gz")], { encoding: "utf8" })
      .trim()
      .split("\n");
    expect(listing).to.deep.equal([
      ".gitattributes",
      ".gitignore",
      "app/",
      "app/__init__.py",
      "app/service.py",
      "deep/",
      `deep/${"d".repeat(120)}/`,
      `deep/${"d".repeat(120)}/${"f".repeat(150)}.txt`,
      "run.sh",
      "service-link",
      "tests/",
      "tests/__init__.py",
      "tests/test_service.py",
    ]);
    expect(first.excluded).to.deep.equal([".env", "README.md", "app/__pycache__"]);
  });

  it("stamps every entry with owner 0:0, no user names and the commit time", () => {
    const verbose = execFileSync(
      "tar",
      ["--numeric-owner", "--full-time", "-tvzf", path.join(out, "a.tar.gz")],
      {
        encoding: "utf8",
        env: { ...process.env, TZ: "UTC" },
      },
    );
    for (const line of verbose.trim().split("\n")) {
      expect(line).to.match(
        /^(?:[-d]rw[-x]r-[-x]r-[-x]|lrwxrwxrwx) 0\/0 +\d+ 2026-01-01 00:00:00 /,
      );
    }
    expect(verbose).to.match(/^-rwxr-xr-x 0\/0 .* run\.sh$/m);
    expect(verbose).to.match(/^lrwxrwxrwx 0\/0 .* service-link -> app\/service\.py$/m);
    const raw = zlib.gunzipSync(fs.readFileSync(path.join(out, "a.tar.gz"))).toString("latin1");
    expect(raw).not.to.contain("Fixture");
    expect(raw).not.to.contain("root");
  });

  it("has a manifest that sha256sum -c accepts on the extracted tree", () => {
    const dir = tempDir();
    execFileSync("tar", ["-xzf", path.join(out, "a.tar.gz"), "-C", dir]);
    fs.writeFileSync(path.join(out, "sums"), formatManifest(first.manifest));
    const checked = execFileSync("sha256sum", ["-c", "--strict", path.join(out, "sums")], {
      cwd: dir,
      encoding: "utf8",
    });
    expect(checked.trim().split("\n"))
      .to.have.length(first.manifest.length)
      .and.to.satisfy((ls: string[]) => ls.every((l) => l.endsWith(": OK")));
    fs.rmSync(dir, { recursive: true });
  });

  it("leaves no partial file behind when git archive fails", async () => {
    const target = path.join(out, "bad.tar.gz");
    let error: Error | undefined;
    try {
      await buildTarball({
        repo: repo.dir,
        commit: "0".repeat(40),
        mtime,
        exclude: [],
        outPath: target,
      });
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).to.match(/^git archive 0{40} failed \(exit 128\): fatal: /);
    expect(fs.readdirSync(out).filter((f) => f.startsWith("bad"))).to.deep.equal([]);
  });
});
