import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { BuiltArtifact } from "../../gates/artifact/build";

/** An entry a crafted archive adds: a file, a symlink, or a character device. */
export type CraftedEntry =
  | { name: string; type: "file"; text: string }
  | { name: string; type: "symlink"; target: string }
  | { name: string; type: "chardev" };

// Copies every member of the base archive (with `replace` applied to file contents), then
// appends the extra entries: what a build of this project never produces, so Python writes it.
const CRAFT = `
import io, json, sys, tarfile
spec = json.load(sys.stdin)
with tarfile.open(spec["base"], "r:gz") as src, tarfile.open(spec["out"], "w:gz") as out:
    for m in src.getmembers():
        data = src.extractfile(m).read() if m.isfile() else None
        name = m.name[2:] if m.name.startswith("./") else m.name
        if name in spec["replace"]:
            data = spec["replace"][name].encode()
            m.size = len(data)
        out.addfile(m, io.BytesIO(data) if data is not None else None)
    for e in spec["add"]:
        t = tarfile.TarInfo(e["name"])
        if e["type"] == "file":
            data = e["text"].encode(); t.size = len(data); out.addfile(t, io.BytesIO(data))
        elif e["type"] == "symlink":
            t.type = tarfile.SYMTYPE; t.linkname = e["target"]; out.addfile(t)
        else:
            t.type = tarfile.CHRTYPE; t.devmajor = 1; t.devminor = 3; out.addfile(t)
`;

/**
 * An artifact whose archive differs from `base` as given, under its own release id, with the
 * sha256 of the crafted bytes and `base`'s manifest: the checksum holds, so only the stage
 * step's own checks stand between it and the server.
 */
export function craftArtifact(
  base: BuiltArtifact,
  dir: string,
  releaseId: string,
  change: { add?: CraftedEntry[]; replace?: Record<string, string> },
): BuiltArtifact {
  const out = path.join(dir, `${releaseId}.tar.gz`);
  execFileSync("python3", ["-c", CRAFT], {
    input: JSON.stringify({
      base: base.path,
      out,
      add: change.add ?? [],
      replace: change.replace ?? {},
    }),
  });
  const sha256 = createHash("sha256").update(fs.readFileSync(out)).digest("hex");
  return { ...base, releaseId, path: out, sha256 };
}
