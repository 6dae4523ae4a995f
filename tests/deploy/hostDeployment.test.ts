import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { HostDeployment, HostDeploymentArgs } from "../../components/hostDeployment";
import { DeployConfig } from "../../config/deploy";
import { deployScript, destroyScript, hostSteps } from "../../deploy/hostSteps";
import { valueOf } from "../../lib/output";
import { OPERATOR, REUPLOAD, settings } from "../helpers/release";

/** A stack's deploy settings with every step declared, and values that need quoting. */
const DEPLOY: DeployConfig = {
  ...settings("/srv/my app/it's $HOME"),
  target: "ssh",
  hosts: [],
  rollout: "all-or-none",
  batchSize: 1,
  killSwitch: { file: "kill 'switch'.json", key: "execution_enabled", format: "json", value: true },
  proof: [
    {
      name: "imports",
      command: "python3 -c 'import app'",
      expectExit: 0,
      when: "staged",
      timeoutSeconds: 60,
    },
    {
      name: "health",
      command: "curl -fsS http://127.0.0.1/",
      expectExit: 0,
      when: "live",
      timeoutSeconds: 60,
    },
  ],
  invariants: [
    { name: "rows", command: "echo 12", timeoutSeconds: 120 },
    { name: "first", command: 'echo "$HOME"', timeoutSeconds: 5 },
  ],
  beforeSwitch: [{ name: "venv", command: "python3 -m venv .venv", timeoutSeconds: 60 }],
  restartCommand: "systemctl restart app",
  breakStaleLock: true,
  staleLockSeconds: 900,
  trustedKeys: [],
};

const ARTIFACT = {
  releaseId: "0123456789ab-cdef0123",
  commit: "e".repeat(40),
  tree: "t".repeat(40),
  sha256: "f".repeat(64),
  tarSha256: "a".repeat(64),
  bytes: 1048576,
  unpackedBytes: 2097152,
  files: 1,
  manifestSha256: "b".repeat(64),
  linksSha256: "c".repeat(64),
  entriesSha256: "d".repeat(64),
  path: "/tmp/artifacts/app.tar.gz",
  manifestPath: "/tmp/artifacts/app.sha256sums",
  linksPath: "/tmp/artifacts/app.links",
  entriesPath: "/tmp/artifacts/app.entries",
  detail: "",
};

/** A trusted key (base64 SPKI DER), so that the Signature step is declared too. */
const TRUSTED = generateKeyPairSync("ed25519")
  .publicKey.export({ type: "spki", format: "der" })
  .toString("base64");

/** web1, over SSH: the host whose upload REUPLOAD names in the stack "test" of this project. */
const WEB1: HostDeploymentArgs = {
  endpoint: {
    kind: "ssh",
    connection: { host: "127.0.0.1", port: 22, user: "root", hostKey: "ssh-ed25519 AAAA" },
  },
  deploy: DEPLOY,
  artifact: ARTIFACT,
  manifest: `${"a".repeat(64)}  app/it's.py\n`,
  links: "app/link\t../target\n",
  entries: "d app\nf - app/it's.py\nl app/link\n",
  evidence: '{"payload":"e30="}\n',
  lock: { ...OPERATOR, artifact: ARTIFACT.sha256 },
  exclude: ["*.log"],
  rollbackTo: "releases/v1",
  onServer: false,
  invariantsBefore: ["12\n", undefined],
  driftReconciled: true,
  departures: ["the lock is held by op", "drift:\napp/x.py"],
  trustedKeys: { keys: [TRUSTED], configPath: "hosts[0].trustedKeys" },
};

/** The words of a command line, as sh splits them. */
const words = (line: string) =>
  spawnSync("sh", ["-c", `set -- ${line}; printf '%s\\0' "$@"`], { encoding: "utf8" })
    .stdout.split("\0")
    .slice(0, -1);

describe("the deploy command HostDeployment registers, under Pulumi's mocks", () => {
  const inputs = new Map<string, Record<string, string>>();

  before(async () => {
    await pulumi.runtime.setMocks(
      {
        newResource: (a) => {
          inputs.set(a.name, a.inputs as Record<string, string>);
          return { id: `${a.name}-id`, state: { ...a.inputs, stdout: "" } };
        },
        call: (a) => a.inputs as Record<string, unknown>,
      },
      "ssot-deploy",
      "test",
    );
  });

  /** What `name`'s deploy command was registered with, and the steps hostSteps gives for it. */
  async function deploy(name: string, args: HostDeploymentArgs) {
    const d = new HostDeployment(name, args);
    await valueOf(d.done.urn);
    return {
      registered: inputs.get(`${name}-deploy`)!,
      steps: hostSteps({ ...args, reupload: REUPLOAD }),
    };
  }

  it("runs exactly the transaction hostSteps orders, the stage step naming the upload's URN, and its destroy steps at destroy", async () => {
    const { registered, steps } = await deploy("web1", WEB1);
    expect(registered.stdin).to.equal(deployScript(steps, WEB1.departures));
    // Equal with REUPLOAD and with no other command: the stage step names web1's upload.
    const other = hostSteps({ ...WEB1, reupload: "pulumi up --replace 'urn:other'" });
    expect(registered.stdin).to.not.equal(deployScript(other, WEB1.departures));
    expect(words(registered.delete)).to.deep.equal(["sh", "-c", destroyScript(steps)]);
  });

  it("runs exactly the transaction hostSteps orders for a kept release (a rollback by release), and its destroy steps at destroy", async () => {
    const kept: HostDeploymentArgs = {
      ...WEB1,
      artifact: { ...ARTIFACT, kept: true },
      manifest: undefined,
      links: undefined,
      entries: undefined,
      onServer: true,
      driftReconciled: false,
      departures: [],
    };
    const { registered, steps } = await deploy("web2", kept);
    expect(registered.stdin).to.equal(deployScript(steps, []));
    expect(words(registered.delete)).to.deep.equal(["sh", "-c", destroyScript(steps)]);
  });
});
