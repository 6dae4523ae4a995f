import { createHash } from "node:crypto";
import * as fs from "node:fs";

/** The sha256 of text or bytes, as 64 lowercase hex digits. */
export function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The sha256 of a file, read as a stream so that a large artifact is never held in memory. */
export function fileSha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    fs.createReadStream(file)
      .on("error", reject)
      .on("data", (d) => h.update(d))
      .on("end", () => resolve(h.digest("hex")));
  });
}

/** A commit, digest or release id as people read it: its first 12 characters. */
export function short(id: string): string {
  return id.slice(0, 12);
}
