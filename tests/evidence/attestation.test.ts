import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../../config/errors";
import { readSigningKey } from "../../config/stack";
import { generateKeyPairSync } from "node:crypto";
import { bundle } from "../../evidence/bundle";
import { keyIdOf, openEnvelope, pae, signEnvelope } from "../../evidence/dsse";
import { ed25519Key } from "../../lib/keys";
import { canonicalJson } from "../../evidence/jcs";
import { sha256Hex } from "../../lib/hash";
import { checkChain, entryHash } from "../../evidence/revisions";
import { renderReport, saveReport, surveyedLines } from "../../evidence/report";
import { productionMutation, testResultStatement, TOOL_VERSION } from "../../evidence/statements";
import { checkSignatures, checkStatements } from "../../tools/verify/checks";
import { BuiltArtifact } from "../../gates/artifact/build";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { projectRoot } from "../../lib/paths";
import { openRepo, sourceUri } from "../../gates/git";
import { FixtureRepo } from "../helpers/repo";

const artifact = {
  path: "/tmp/x/abc-12345678.tar.gz",
  sha256: "e".repeat(64),
  commit: "c".repeat(40),
} as BuiltArtifact;

describe("JCS (RFC 8785) canonical JSON", () => {
  it("serializes the RFC's number and string example exactly", () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    ) as unknown;
    expect(canonicalJson(input)).to.equal(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it("sorts keys by UTF-16 code units, as the RFC's sorting example does", () => {
    const input = {
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis",
    };
    // A JS object puts integer-like keys first whatever the text says: read the order from the text.
    const order = [...canonicalJson(input).matchAll(/":"([^"]+)"/g)].map((m) => m[1]);
    expect(order).to.deep.equal([
      "Carriage Return",
      "One",
      "Control",
      "Latin Small Letter O With Diaeresis",
      "Euro Sign",
      "Emoji: Grinning Face",
      "Hebrew Letter Dalet With Dagesh",
    ]);
  });

  it("refuses values JSON cannot carry instead of dropping them", () => {
    expect(() => canonicalJson({ n: Number.NaN })).to.throw("JCS cannot encode the number NaN");
    expect(() => canonicalJson({ f: () => 1 })).to.throw(
      "JCS cannot encode a value of type function",
    );
  });
});

describe("DSSE envelopes", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");

  it("pre-authenticates type and payload as the DSSE spec's example shows", () => {
    expect(pae("http://example.com/HelloWorld", Buffer.from("hello world")).toString()).to.equal(
      "DSSEv1 29 http://example.com/HelloWorld 11 hello world",
    );
  });

  it("opens what it signed, and refuses a changed payload type", () => {
    const env = signEnvelope(Buffer.from('{"a":1}'), privateKey);
    expect(env.signatures[0].keyid).to.equal(keyIdOf(publicKey));
    expect(openEnvelope(env, publicKey)).to.deep.equal({ payload: Buffer.from('{"a":1}') });
    expect(openEnvelope({ ...env, payloadType: "text/plain" }, publicKey)).to.deep.equal({
      reason: `the signature by key ${keyIdOf(publicKey).slice(0, 16)}… does not verify`,
    });
  });

  it("accepts only ed25519 keys", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const pem = rsa.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    expect(() => ed25519Key(pem, "private")).to.throw("the private key is rsa, not ed25519");
  });
});

describe("sealed statements", () => {
  const t = {
    command: "pytest",
    passed: 3,
    failed: 0,
    skipped: 1,
    total: 4,
    expected: 3,
    cached: false,
  };

  it("records each statement's JCS sha256, which verify recomputes", () => {
    const b = bundle([testResultStatement(artifact, t)]);
    expect(b.statements[0].sha256).to.equal(sha256Hex(canonicalJson(b.statements[0].statement)));
    expect(checkStatements(b).map((c) => c.outcome)).to.deep.equal(["ok", "ok"]);
    expect(checkSignatures(b)).to.deep.equal([
      { name: "signatures", outcome: "skipped", detail: "the attestation is not signed" },
    ]);
  });

  it("fails a test result below expectedTests, listing the suite as failed", () => {
    const s = testResultStatement(artifact, { ...t, expected: 10 });
    expect(s.predicate).to.deep.include({
      result: "FAILED",
      passedTests: [],
      failedTests: ["pytest (3 passed, 1 skipped of 4)"],
    });
  });

  it("calls production unmeasured without invariants or with one not measured, and changed when one moved", () => {
    expect(productionMutation([])).to.equal("UNMEASURED");
    expect(productionMutation([{ outcome: "same" }])).to.equal("NONE");
    expect(productionMutation([{ outcome: "same" }, { outcome: "unmeasured" }])).to.equal(
      "UNMEASURED",
    );
    expect(productionMutation([{ outcome: "unmeasured" }, { outcome: "changed" }])).to.equal(
      "CHANGED",
    );
  });

  it("names the builder's version as package.json does", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot(), "package.json"), "utf8")) as {
      version: string;
    };
    expect(TOOL_VERSION).to.equal(pkg.version);
  });
});

describe("the revisions log's hash chain", () => {
  const line = (n: number, prev: string | null) =>
    JSON.stringify({ time: `2026-11-0${n}T00:00:00Z`, releaseId: `r${n}`, prevHash: prev });
  const l1 = line(1, null);
  const l2 = line(2, entryHash(l1));
  const l3 = line(3, entryHash(l2));

  it("holds when every entry names the hash of the one before it", () => {
    const c = checkChain(`${l1}\n${l2}\n${l3}\n`);
    expect(c.broken).to.equal(undefined);
    expect(c.entries.map((e) => e.hash)).to.deep.equal([
      entryHash(l1),
      entryHash(l2),
      entryHash(l3),
    ]);
  });

  it("reports the first broken entry when a line is removed", () => {
    expect(checkChain(`${l1}\n${l3}\n`).broken?.line).to.equal(2);
    expect(checkChain(`${l2}\n${l3}\n`).broken?.reason).to.match(
      /^line 1 \(r2\) chains to .*: the log's first entry was removed or changed$/,
    );
  });

  it("reports a line that is not JSON", () => {
    expect(checkChain(`${l1}\nnot json\n`).broken).to.deep.equal({
      line: 2,
      reason: "line 2 is not a JSON entry",
    });
  });
});

describe("the run report", () => {
  it("says for a read-only server that its tree and kill-switch were left as they were", () => {
    expect(
      surveyedLines("web1", {
        layout: "symlink",
        live: "r1",
        manifestSha256: "ab",
        killSwitch: false,
      }),
    ).to.deep.equal({
      host: "web1",
      productionMutation: "NONE",
      killSwitch: "reads false, not written",
      deployedTree: "byte-unchanged: releases/r1 (manifest sha256 ab)",
      servicesRestarted: "none",
    });
  });

  it("escapes a pipe in a gate's detail so the table keeps its columns", () => {
    const text = renderReport({
      stack: "s",
      mode: "preview",
      time: new Date(0),
      result: "PREVIEW_ONLY: no change",
      gates: [{ id: "G3", name: "tests", status: "PASS", detail: "a | b" }],
      killSwitch: { key: "k", declared: false },
      hosts: [],
      unchanged: "Nothing.",
    });
    expect(text).to.contain("| G3 tests | PASS | a \\| b |");
    expect(text.split("\n")[0]).to.equal(
      "# ssot-deploy report: stack s, preview, 1970-01-01T00:00:00.000Z",
    );
  });
});

describe("the attestationKey config key", () => {
  it("refuses a value that is not an ed25519 private key, without echoing it", async () => {
    const err = await readSigningKey(pulumi.secret("not-a-key-0xDEADBEEF")).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).to.be.instanceOf(ConfigError);
    expect(err!.message).to.contain(
      'config key "ssot-deploy:attestationKey" must be an ed25519 private key in PEM (PKCS#8), or empty. Fix: openssl genpkey -algorithm ed25519',
    );
    expect(err!.message).to.not.contain("DEADBEEF");
  });

  it("leaves the attestation unsigned when empty", async () => {
    expect(await readSigningKey(pulumi.secret(""))).to.equal(undefined);
  });
});

describe("saving a report", () => {
  it("says why a report could not be written instead of failing the run", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ssot-report-")), "a-file");
    fs.writeFileSync(file, "");
    expect(saveReport(file, "s", new Date(0), "text")).to.match(
      /^not written \(ENOTDIR: .*\); fix reportDir: pulumi config set reportDir <writable directory>$/,
    );
  });
});

describe("the source the provenance names", () => {
  it("is the remote URL without its credentials when the repo has a remote, else the path", async () => {
    const repo = FixtureRepo.create();
    try {
      const git = openRepo(repo.dir);
      expect(await sourceUri(git, repo.dir)).to.equal(`git+file://${repo.dir}`);
      repo.git("remote", "add", "upstream", "git@example.com:org/other.git");
      expect(await sourceUri(git, repo.dir)).to.equal("git+git@example.com:org/other.git");
      repo.git("remote", "add", "origin", "https://deployer:t0ken@example.com/org/app.git");
      expect(await sourceUri(git, repo.dir)).to.equal("git+https://example.com/org/app.git");
    } finally {
      repo.remove();
    }
  });
});
