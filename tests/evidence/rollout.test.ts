import { expect } from "chai";
import { batchLine, byRelease, rolloutRecord, unfinishedGap } from "../../evidence/rollout";

describe("what the evidence says of a fleet's rollout", () => {
  const hosts = [
    { name: "web1", live: "r2" },
    { name: "web2", live: "r1" },
    { name: "web3", live: "r2" },
    { name: "web4" },
  ];

  it("groups hosts by the release live on each, in the order they are declared", () => {
    expect(byRelease(hosts)).to.equal(
      "releases/r2: web1, web3; releases/r1: web2; no release: web4",
    );
  });

  it("lists the batches in the order they switch", () => {
    expect(batchLine("rolling", [["web1", "web2"], ["web3"]])).to.equal(
      "rolling, 2 batches: [web1, web2] then [web3]",
    );
  });

  it("counts as switched only a host the survey found elsewhere whose deploy moved current", () => {
    const record = rolloutRecord(
      "all-or-none",
      [["web1", "web2", "web3"]],
      [
        { name: "web1", changes: true },
        { name: "web2", changes: false },
        { name: "web3", changes: true },
      ],
      {
        web1: { promoted: "switched" },
        web2: { promoted: "switched" },
        web3: { promoted: "unchanged" },
      },
    );
    expect([record.switched, record.unchanged]).to.deep.equal([["web1"], ["web2", "web3"]]);
  });

  it("names, in an unfinished up's gap, the hosts deployed and the release each other host had", () => {
    const gap = unfinishedGap(new Date(0), "r3", hosts, new Set(["web1", "web3"]));
    expect(gap).to.contain("on releases/r3, deployed by it: web1, web3; ");
    expect(gap).to.contain("not finished: releases/r1: web2; no release: web4 before it");
  });
});
