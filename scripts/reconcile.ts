import { renderGateTable } from "../gates/gateRun";
import { escapedName } from "../gates/artifact/manifest";
import { describeContent } from "../tools/reconcile/diff";
import { reconcile } from "../tools/reconcile/reconcile";
import { CommandSpec, EXIT, readOptionFile, runCommand } from "./cli";
import { openStack, STACK_OPTIONS } from "./stack";

const SPEC: CommandSpec = {
  name: "reconcile",
  summary:
    "Brings a tree changed on a server back into the SSOT repo as a tested commit on a new branch " +
    "(gates G0 repo and server, G1 change set, G2 clean tree, G3 tests). It only reads the server, " +
    "never touches the checked-out branch, never pushes and never deploys.",
  options: {
    ...STACK_OPTIONS,
    from: {
      type: "string",
      value: "<path on the server>",
      description: "the changed tree (default: <deployRoot>/current, the live release)",
    },
    expect: {
      type: "string",
      value: "<file>",
      description: "a sha256sum manifest of exactly the files expected to have changed",
    },
    host: {
      type: "string",
      value: "<name>",
      description: "which of the stack's hosts (default: the first)",
    },
  },
};

runCommand(SPEC, async (values) => {
  const s = openStack(values);
  const expect = values.expect as string | undefined;
  if (expect !== undefined)
    readOptionFile(
      "expect",
      expect,
      "pass a sha256sum manifest of the files expected to have changed",
    );
  const r = await reconcile({
    stack: s.stack,
    raw: s.raw,
    privateKey: s.privateKey,
    passphrase: s.passphrase,
    from: values.from as string | undefined,
    expect,
    host: values.host as string | undefined,
  });
  console.log(`gates:\n${renderGateTable(r.gates)}`);
  if (r.branch === undefined) {
    console.log(`RESULT: NOTHING_TO_RECONCILE: ${r.from} matches ${r.base}; no branch was created`);
    return EXIT.ok;
  }
  console.log(`RESULT: RECONCILED into branch ${r.branch} at ${r.commit} (base ${r.base})`);
  for (const c of r.changes)
    console.log(
      `  ${c.kind.padEnd(8)} ${escapedName(c.path)}${c.kind === "deleted" ? "" : `  ${describeContent(c)}`}`,
    );
  console.log(`tests: ${r.tests}`);
  console.log(
    `next action: review it (git -C ${s.raw.repo} show ${r.branch}), merge it into the mainline, then pulumi preview and pulumi up`,
  );
  return EXIT.ok;
});
