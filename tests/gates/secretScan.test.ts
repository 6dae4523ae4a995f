import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { scanCommit, scanText } from "../../gates/secretScan";
import { FixtureRepo, tempDir } from "../helpers/repo";

// Built at run time so that no scanner, ours or a host's, finds a secret in this file.
const AWS_KEY_ID = ["AKIA", "Z7Q2", "M4XW", "P9R3", "K8TB"].join("");
const GITHUB_TOKEN = ["ghp", "_", "R".repeat(20), "x".repeat(16)].join("");
const PASSWORD = ["s3cr3t", "-hunter", "2"].join("");

function privateKey(): string {
  const dir = tempDir();
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "k")]);
  const key = fs.readFileSync(path.join(dir, "k"), "utf8");
  fs.rmSync(dir, { recursive: true });
  return key;
}

describe("the secret scan", function () {
  this.timeout(30_000);
  const cases: [string, string, string, string, number][] = [
    [
      "a password assigned in code",
      "app/settings.py",
      `DEBUG = False\nDB_PASSWORD = "${PASSWORD}"\n`,
      "ssot/password-assignment",
      2,
    ],
    [
      "an AWS access key id",
      "deploy/aws.py",
      `KEY = "${AWS_KEY_ID}"\n`,
      "ssot/aws-access-key-id",
      1,
    ],
    [
      "a GitHub token",
      "ci/token.txt",
      `\n\ntoken: ${GITHUB_TOKEN}\n`,
      "@secretlint/secretlint-rule-github",
      3,
    ],
    [
      "a database URL with a password",
      "app/db.py",
      `DSN = "postgres://app:${PASSWORD}@db:5432/app"\n`,
      "@secretlint/secretlint-rule-database-connection-string",
      1,
    ],
    ["an env file by its name", "config/prod.env", "LOG_LEVEL=info\n", "ssot/env-file", 1],
  ];
  for (const [what, file, content, rule, line] of cases) {
    it(`finds ${what}, naming file, line and rule`, async () => {
      expect(await scanText(file, content)).to.deep.equal([{ file, line, rule }]);
    });
  }

  it("finds a private key", async () => {
    expect(await scanText("keys/deploy_key", privateKey())).to.deep.equal([
      { file: "keys/deploy_key", line: 1, rule: "@secretlint/secretlint-rule-privatekey" },
    ]);
  });

  it("passes ordinary code, and a password read from the environment", async () => {
    const code = 'import os\nPASSWORD = os.environ["DB_PASSWORD"]\nMODE = "SIM"\n';
    expect(await scanText("app/ok.py", code)).to.deep.equal([]);
  });

  it("accepts a line marked secretlint-disable-line", async () => {
    expect(
      await scanText("tests/fixture.py", `password = "${PASSWORD}"  # secretlint-disable-line\n`),
    ).to.deep.equal([]);
  });

  it("scans every file of a commit that ships, hashes it, and skips binaries", async () => {
    const repo = FixtureRepo.create({
      "a.py": `password = "${PASSWORD}"\n`,
      "b.bin": "\0\x01binary",
      "skip/c.py": `password = "${PASSWORD}"\n`,
    });
    try {
      const r = await scanCommit(repo.dir, repo.head(), (p) => !p.startsWith("skip/"));
      expect(r.findings).to.deep.equal([
        { file: "a.py", line: 1, rule: "ssot/password-assignment" },
      ]);
      expect({ scanned: r.scanned, skipped: r.skipped }).to.deep.equal({ scanned: 1, skipped: 1 });
      const sha = execFileSync("sha256sum", ["a.py"], { cwd: repo.dir, encoding: "utf8" }).split(
        " ",
      )[0];
      expect(r.sha256.get("a.py")).to.equal(sha);
      expect([...r.sha256.keys()]).to.deep.equal(["a.py", "b.bin"]);
    } finally {
      repo.remove();
    }
  });
});
