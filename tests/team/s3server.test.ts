import { expect } from "chai";
import * as fs from "node:fs";
import { TestS3 } from "../../testbed/s3";

/** The sockets a process holds open, by inode. */
function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]);
    } catch {
      // Closed while it was read.
    }
  }
  return out;
}

/** The address and port of every TCP socket of `pid` that listens, as the kernel lists them. */
function listening(pid: number): { address: string; port: number }[] {
  const mine = socketInodes(pid);
  return ["/proc/net/tcp", "/proc/net/tcp6"].flatMap((table) =>
    fs
      .readFileSync(table, "utf8")
      .split("\n")
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      // st 0A is LISTEN; field 9 the socket's inode.
      .filter((f) => f.length > 9 && f[3] === "0A" && mine.has(f[9]))
      .map((f) => {
        const [hex, port] = f[1].split(":");
        return { address: hex, port: parseInt(port, 16) };
      }),
  );
}

describe("the test S3 server (testbed/s3.ts, weed mini)", function () {
  this.timeout(120_000);

  it("listens on 127.0.0.1 only, S3 and the filer among its ports, and leaves neither process nor data when stopped", async () => {
    const s3 = await TestS3.start();
    let pid: number | undefined;
    try {
      pid = s3.pid!;
      const ports = listening(pid);
      // 0100007F is 127.0.0.1 as /proc/net/tcp writes it (little-endian hex).
      expect(ports.filter((p) => p.address !== "0100007F")).to.deep.equal([]);
      expect(ports.map((p) => p.port)).to.include.members([s3.s3Port, s3.filerPort]);
    } finally {
      await s3.stop();
    }
    expect(fs.existsSync(`/proc/${pid}`)).to.equal(false);
    expect(fs.existsSync(s3.dir)).to.equal(false);
  });
});
