import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { projectRoot } from "../harness/paths";

describe("the README's main job (npm run local)", function () {
  this.timeout(120_000);
  it("previews then deploys the local stack in-process, every gate passing and the proof holding", () => {
    const out = execFileSync(
      process.execPath,
      [path.join(projectRoot(), "dist", "scripts", "local.js")],
      {
        encoding: "utf8",
      },
    );
    const sections = out.split("== up (stack local, in-process) ==");
    expect(sections).to.have.length(2);
    for (const s of sections) {
      for (const id of ["G0", "G1", "G2", "G3", "G4"])
        expect(s).to.match(new RegExp(`^${id} .* PASS `, "m"));
    }
    expect(sections[1]).to.contain("tests: 3/3 passed (cached)");
    expect(sections[1]).to.match(
      /^deploy local: (switched|unchanged) .* -> \S+; backup (not needed: .+|\/\S+ \(sha256 [0-9a-f]{12}\))$/m,
    );
    expect(sections[1]).to.contain("kill-switch declared false, read back false; restarted none");
    expect(sections[1]).to.contain("proof passed: live-refused exit 1, simulate exit 0");
    expect(sections[1]).to.contain("G5 PASS  G6 PASS  G7 PASS");
  });
});
