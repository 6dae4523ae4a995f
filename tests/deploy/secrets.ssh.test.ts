import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { CommandLifecycle } from "../../harness/lifecycle";
import { ProgramRun, runProgram } from "../../harness/program";
import { expectVerified, signingKeyPair } from "../helpers/attest";
import { sshStackConfig, sshSuite } from "../helpers/stack";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const PASSPHRASE = "correct horse battery staple 4417";

/** Replaces every secret-wrapped value (what the engine encrypts in state) with a marker. */
function redactWrapped(value: unknown, found: { wrapped: number }): unknown {
  if (Array.isArray(value)) return value.map((v) => redactWrapped(v, found));
  if (value !== null && typeof value === "object") {
    if (SECRET_SIG in value) {
      found.wrapped++;
      return "[secret]";
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactWrapped(v, found)]));
  }
  return value;
}

/** Every file under a directory, as text (binary files too: a key would show as its bytes). */
function filesUnder(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const p = path.join(e.parentPath, e.name);
    if (e.isFile()) out.set(p, fs.readFileSync(p, "latin1"));
  }
  return out;
}

/** What must never be seen: the key and the passphrase, whole and by each line of the key's body. */
function needles(privateKey: string, passphrase: string, signingKey: string): string[] {
  const body = (pem: string) =>
    pem
      .split("\n")
      .filter((l) => l.length >= 16 && !l.startsWith("-----"))
      .map((l) => l.trim());
  return [
    privateKey.trim(),
    passphrase,
    signingKey.trim(),
    ...body(privateKey),
    ...body(signingKey),
  ];
}

describe("secrets never reach an output, a report, a log line or the recorded state", function () {
  this.timeout(180_000);
  const suite = sshSuite({ passphrase: PASSPHRASE });
  const signer = signingKeyPair();

  it("deploys with a passphrase-protected key and a signing key, and none of them appears anywhere", async () => {
    expect(suite.sshd.userKey.privateKey).to.contain("BEGIN OPENSSH PRIVATE KEY");
    const config = sshStackConfig(suite.repo.dir, suite.work, suite.sshd, {
      sshPassphrase: PASSPHRASE,
      attestationKey: signer.privateKey,
    });
    const lifecycle = new CommandLifecycle();
    const logged: string[] = [];
    const writes = [process.stdout, process.stderr].map((stream) => {
      const original = stream.write.bind(stream);
      stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        logged.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
        return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write;
      return () => (stream.write = original as typeof stream.write);
    });
    const runs: ProgramRun[] = [];
    try {
      runs.push(await runProgram(config, { preview: true, lifecycle }));
      for (const v of ["v1", "v2"]) {
        if (v === "v2") suite.repo.commit("v2", { "app/extra.py": "X = 2\n" });
        const up = await runProgram(config, { preview: false, lifecycle });
        runs.push(up);
        if (up.outputs) await expectVerified(up.outputs, config, signer.publicKey);
      }
      // A blocked run too: its report and error text are searched like the rest.
      fs.appendFileSync(
        path.join(suite.work, "srv", "app", "current", "app", "extra.py"),
        "# edit\n",
      );
      runs.push(await runProgram(config, { preview: false, lifecycle }));
    } finally {
      for (const restore of writes) restore();
    }
    expect(runs.map((r) => r.error?.name)).to.deep.equal([
      undefined,
      undefined,
      undefined,
      "BlockedError",
    ]);
    expect(runs[2].outputs!.attestation!.envelopes).to.have.length(3);

    const found = { wrapped: 0 };
    const haystacks = new Map<string, string>([
      ["outputs", JSON.stringify(runs.map((r) => r.outputs ?? null))],
      ["errors", runs.map((r) => r.error?.message ?? "").join("\n")],
      ["log", logged.join("")],
      [
        "registered inputs",
        JSON.stringify(
          redactWrapped(
            runs.map((r) => r.resources),
            found,
          ),
        ),
      ],
      ["provider state", JSON.stringify(redactWrapped([...lifecycle.state.values()], found))],
      ...filesUnder(path.join(suite.work, "reports")),
      ...filesUnder(path.join(suite.work, "srv")),
      ...filesUnder(path.join(suite.work, "local")),
    ]);
    // The key did reach the connection, as a secret, and the search finds it there unredacted:
    // the search below is not vacuous.
    expect(found.wrapped).to.be.greaterThan(0);
    const unredacted = JSON.stringify([...lifecycle.state.values()]);
    const keyLines = needles(suite.sshd.userKey.privateKey, PASSPHRASE, signer.privateKey);
    expect(keyLines.filter((n) => unredacted.includes(n)).length).to.be.greaterThan(2);
    // One report per run (the preview, two ups and the blocked up), and beside each of the two
    // signed ups its in-toto bundle: all searched.
    const written = [...haystacks.keys()].filter((k) =>
      k.startsWith(path.join(suite.work, "reports")),
    );
    expect(written.filter((k) => k.endsWith(".md"))).to.have.length(4);
    expect(written.filter((k) => k.endsWith(".intoto.jsonl"))).to.have.length(2);
    const leaks: string[] = [];
    for (const needle of keyLines) {
      for (const [where, text] of haystacks)
        if (text.includes(needle)) leaks.push(`${where}: ${needle.slice(0, 12)}…`);
    }
    expect(leaks).to.deep.equal([]);
  });
});
