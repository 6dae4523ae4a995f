import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { stageScript } from "../../remote/stage";
import { BLOCKED_EXIT, blockedLine } from "../../remote/sh";
import { tempDir } from "../helpers/repo";
import { sha256Hex } from "../../lib/hash";

describe("the stage step of a rollback to a kept release", () => {
  it("refuses, under the lock, a release that is gone since the survey, and stages nothing", () => {
    const work = tempDir();
    try {
      const root = path.join(work, "app");
      fs.mkdirSync(path.join(root, ".deploy", "lock"), { recursive: true });
      fs.writeFileSync(path.join(root, ".deploy", "lock", "info"), "token=t\n");
      // Its manifest, links file and entries list stay, with the digests the evidence signed.
      const manifests = path.join(root, ".deploy", "manifests");
      fs.mkdirSync(manifests);
      const kept = {
        sha256sums: `${"a".repeat(64)}  app.py\n`,
        links: "",
        entries: "f - app.py\n",
      };
      for (const [ext, text] of Object.entries(kept))
        fs.writeFileSync(path.join(manifests, `0123456789ab-01234567.${ext}`), text);
      const text = stageScript({
        root,
        releaseId: "0123456789ab-01234567",
        sha256: "d".repeat(64),
        sharedFiles: [],
        lockToken: "t",
        reupload: "unused",
        signed: {
          manifestSha256: sha256Hex(kept.sha256sums),
          linksSha256: sha256Hex(kept.links),
          entriesSha256: sha256Hex(kept.entries),
        },
      });
      const r = spawnSync("sh", ["-s"], { input: text, encoding: "utf8" });
      expect(r.status).to.equal(BLOCKED_EXIT);
      expect(blockedLine(r.stdout)).to.match(
        /^release 0123456789ab-01234567 is not staged on this server as it was when the survey read it/,
      );
      expect(text).to.not.contain("tar -xzf");
      expect(fs.existsSync(path.join(root, "releases"))).to.equal(false);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
