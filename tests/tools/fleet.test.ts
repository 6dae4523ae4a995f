import { expect } from "chai";
import { byRelease } from "../../evidence/rollout";
import { fleetView } from "../../tools/fleet";
import { HostStatus, renderStatus } from "../../tools/status";

const A = "aaaaaaaaaaaa-11111111";
const B = "bbbbbbbbbbbb-22222222";

/** A host status read, with `release` live (none when undefined). */
const on = (host: string, release?: string): HostStatus => ({
  host,
  where: `root@10.0.0.1:22`,
  live: release === undefined ? null : { release, commit: release.slice(0, 12) },
  log: { entries: 1 },
  releases: [],
  lock: null,
  killSwitch: { key: "execution_enabled", value: false },
  drift: null,
});
/** A host status that could not be read. */
const unreadable = (host: string): HostStatus => ({
  host,
  gap: {
    gap: `server ${host}: root@10.0.0.3:22 is unreachable: connect ECONNREFUSED 10.0.0.3:22; nothing was changed`,
    next: "check the host, port and network path (and that sshd runs), then run pulumi preview again",
  },
});

describe("the fleet line of npm run status", () => {
  it("says all on one release when every host was read and each is on the same release", () => {
    expect(fleetView([on("web1", A), on("web2", A)])).to.deep.equal({
      state: "one release",
      releases: [{ release: A, hosts: ["web1", "web2"] }],
      unreadable: [],
      line: `fleet: all on one release: releases/${A}: web1, web2`,
    });
  });

  it("says mixed and groups the hosts by live release, as byRelease words it, when they are not all on one", () => {
    const hosts = [on("web1", A), on("web2", B), on("web3", A)];
    const view = fleetView(hosts)!;
    expect(view.state).to.equal("mixed");
    expect(view.releases).to.deep.equal([
      { release: A, hosts: ["web1", "web3"] },
      { release: B, hosts: ["web2"] },
    ]);
    const grouped = byRelease(hosts.map((h) => ({ name: h.host, live: h.live?.release })));
    expect(grouped).to.equal(`releases/${A}: web1, web3; releases/${B}: web2`);
    expect(view.line).to.equal(
      `fleet: mixed: ${grouped} (pulumi preview names the release the stack deploys; the next pulumi up deploys it to every host not on it yet)`,
    );
  });

  it("lists a host that could not be read as unreadable, and does not call the fleet one release when the others agree", () => {
    expect(fleetView([on("web1", A), on("web2", A), unreadable("web3")])).to.deep.equal({
      state: "not all read",
      releases: [{ release: A, hosts: ["web1", "web2"] }],
      unreadable: ["web3"],
      line:
        `fleet: not all hosts read: releases/${A}: web1, web2; unreadable: web3 ` +
        "(whether the fleet is on one release is not known until every host is read)",
    });
  });

  it("calls the fleet mixed when the hosts read differ, a host that could not be read listed too", () => {
    const view = fleetView([unreadable("web1"), on("web2", A), on("web3", B)])!;
    expect(view.state).to.equal("mixed");
    expect(view.line).to.match(
      new RegExp(`^fleet: mixed: releases/${A}: web2; releases/${B}: web3; unreadable: web1 \\(`),
    );
  });

  it("counts a host with nothing live as on no release, which makes the fleet mixed", () => {
    const view = fleetView([on("web1", A), on("web2")])!;
    expect(view.state).to.equal("mixed");
    expect(view.releases).to.deep.equal([
      { release: A, hosts: ["web1"] },
      { release: null, hosts: ["web2"] },
    ]);
    expect(view.line).to.match(new RegExp(`^fleet: mixed: releases/${A}: web1; no release: web2 `));
    expect(fleetView([on("web1"), on("web2")])!.line).to.equal(
      "fleet: nothing live on any host: no release: web1, web2",
    );
  });

  it("says not all hosts read when no host could be read", () => {
    expect(fleetView([unreadable("web1"), unreadable("web2")])).to.deep.include({
      state: "not all read",
      releases: [],
      unreadable: ["web1", "web2"],
    });
  });

  it("gives no fleet line for one host: there is nothing to compare", () => {
    expect(fleetView([on("web1", A)])).to.equal(null);
    expect(renderStatus([on("web1", A)])).to.not.match(/^fleet:/m);
  });

  it("ends the status table with the fleet line, after every host's block, when there are several hosts", () => {
    const hosts = [on("web1", A), on("web2", B), unreadable("web3")];
    const blocks = renderStatus(hosts).split("\n\n");
    expect(blocks).to.deep.equal([...hosts.map((h) => renderStatus([h])), fleetView(hosts)!.line]);
  });
});
