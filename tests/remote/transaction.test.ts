import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { splitSteps, transactionScript } from "../../remote/transaction";
import { script } from "../../remote/sh";

const run = (text: string) => {
  const r = spawnSync("sh", ["-s"], { input: text, encoding: "utf8" });
  return { code: r.status, out: splitSteps(r.stdout) };
};

describe("the host transaction script", () => {
  it("runs every step in order, an exit 0 ending only its own step", () => {
    const r = run(
      transactionScript([
        { name: "one", script: script("echo a=1", "exit 0", "echo never") },
        { name: "two", script: script("echo b=2") },
      ]),
    );
    expect(r).to.deep.equal({ code: 0, out: { one: "a=1", two: "b=2" } });
  });

  it("stops at a refusal with its status, running that step's cleanup and no later step", () => {
    const r = run(
      transactionScript([
        { name: "lock", script: script("echo lock=acquired") },
        { name: "stage", script: script("block 'no upload'"), onRefusal: "echo lock=released" },
        { name: "promote", script: script("echo promoted=switched") },
      ]),
    );
    expect(r.code).to.equal(3);
    expect(r.out).to.deep.equal({
      lock: "lock=acquired",
      stage: "BLOCKED: no upload\nlock=released",
    });
  });

  it("stops at a failing command under set -e without running the refusal cleanup", () => {
    const r = run(
      transactionScript([
        { name: "proof", script: script("false", "echo never"), onRefusal: "echo lock=released" },
        { name: "unlock", script: script("echo lock=released") },
      ]),
    );
    expect(r).to.deep.equal({ code: 1, out: { proof: "" } });
  });

  it("refuses two steps of one name", () => {
    expect(() =>
      transactionScript([
        { name: "a", script: "" },
        { name: "a", script: "" },
      ]),
    ).to.throw("step a appears twice");
  });
});
