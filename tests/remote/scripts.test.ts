import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { KillSwitchSpec, Probe } from "../../config/deploy";
import { backupScript } from "../../remote/backup";
import { beforeSwitchScript } from "../../remote/beforeSwitch";
import { disableKillSwitchScript, killSwitchStepScript } from "../../remote/killSwitch";
import { acquireLockScript, breakLockScript, releaseLockScript } from "../../remote/lock";
import { revisionsLogScript, statusScript } from "../../remote/status";
import { NOT_SWITCHED } from "../../remote/preamble";
import { promoteScript } from "../../remote/promote";
import { proofScript, stagedProofScript } from "../../remote/proof";
import { serverFactsScript } from "../../remote/serverFacts";
import { fetchFilesScript, serverTreeScript } from "../../remote/serverTree";
import { script } from "../../remote/sh";
import { signatureScript } from "../../remote/signature";
import { stageScript } from "../../remote/stage";
import { keptScript, surveyScript, targetScript } from "../../remote/survey";
import { markPreparedScript, refusalStateScript } from "../../remote/transaction";
import { prepareSteps, switchSteps } from "../../deploy/fleetSteps";
import { localCopyScript } from "../../remote/stage";
import { projectRoot } from "../../lib/paths";
import {
  deployScript,
  destroyScript,
  hostSteps,
  HostStepsArgs,
  StepSettings,
} from "../../deploy/hostSteps";

// Values chosen to break naive quoting: spaces, both quotes, $, a backtick, a glob, and a
// newline wherever a value may hold one (commands, outputs, manifests, the lock's token).
const ROOT = "/srv/my app/it's $HOME `x`";
const ID = "0123456789ab-cdef0123";
const FILE = "conf dir/kill 'switch' $x.json";
const TOKEN = "op@host:/work/my 'deploy'\n$(id):contabo";
const EXCLUDE = ["*.log", "data dir/**", "it's", "$HOME/x"];
const SHARED = [".env", "conf dir/it's.ini"];
const MANIFEST = `${"a".repeat(64)}  app/odd 'name' $x.py\n\\${"b".repeat(64)}  app/new\\nline.py\n`;
const LINKS = "app/link\t../target 'x'\n";
const ENTRIES = "d app\nf - app/new\\nline.py\nf x app/odd 'name' $x.py\nl app/link\n";
const KS: KillSwitchSpec = { file: FILE, key: "execution_enabled", format: "json", value: false };
const PROBES: Probe[] = [
  {
    name: "imports",
    command: "python3 -c 'import app'\necho \"$(id) `date`\"",
    expectExit: 0,
    expectOutput: "^ok: 'x' \\$",
    when: "staged",
    timeoutSeconds: 30,
  },
  {
    name: "health",
    command: "curl -fsS 'http://127.0.0.1/$x'",
    expectExit: 0,
    when: "live",
    timeoutSeconds: 120,
  },
];
const INVARIANTS = [
  { name: "rows", command: 'echo "it\'s $x"', before: "12\n'13' $x `y`", timeoutSeconds: 120 },
  { name: "first", command: "printf '%s' \"$HOME\"", timeoutSeconds: 30 },
];
// Two trusted keys (base64 SPKI DER), so that the Signature step tries each.
const TRUSTED = [1, 2].map((n) =>
  Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), Buffer.alloc(32, n)]).toString(
    "base64",
  ),
);
const LOCK = { token: TOKEN, holder: "op 'x'", host: "lap$top", artifact: "c".repeat(64) };

const SCRIPTS: [string, string][] = [
  ["survey", surveyScript(ROOT, FILE, INVARIANTS, EXCLUDE)],
  ["target check", targetScript(ROOT, ID, EXCLUDE)],
  ["lock", acquireLockScript(ROOT, LOCK, true, 3600)],
  ["unlock", releaseLockScript(ROOT, TOKEN, ID)],
  ["lock release", breakLockScript(ROOT, false)],
  ["lock release, forced", breakLockScript(ROOT, true)],
  ["status", statusScript(ROOT, { file: FILE }, EXCLUDE)],
  ["kept release", keptScript(ROOT, ID, EXCLUDE, SHARED)],
  [
    "backup",
    backupScript({
      root: ROOT,
      releaseId: ID,
      keep: 3,
      lockToken: TOKEN,
      acceptDrift: true,
      exclude: EXCLUDE,
    }),
  ],
  [
    "stage",
    stageScript({
      root: ROOT,
      releaseId: ID,
      sha256: "d".repeat(64),
      manifest: MANIFEST,
      links: LINKS,
      entries: ENTRIES,
      sharedFiles: SHARED,
      lockToken: TOKEN,
      exclude: EXCLUDE,
      acceptDrift: true,
      reupload: "pulumi up --replace 'urn:pulumi:s::p::a$b::web1-release-upload'",
      evidence: '{"payload":"e30=","sig": "it\'s $HOME `x`"}\nSSOT_\n',
    }),
  ],
  [
    "stage, a kept release",
    stageScript({
      root: ROOT,
      releaseId: ID,
      sha256: "d".repeat(64),
      sharedFiles: SHARED,
      lockToken: TOKEN,
      exclude: EXCLUDE,
      reupload: "none",
      signed: {
        manifestSha256: "1".repeat(64),
        linksSha256: "2".repeat(64),
        entriesSha256: "3".repeat(64),
      },
    }),
  ],
  ["kill-switch, OFF", killSwitchStepScript(ROOT, ID, KS, NOT_SWITCHED)],
  [
    "before the switch",
    beforeSwitchScript({
      root: ROOT,
      releaseId: ID,
      commands: [
        {
          name: "venv",
          command: "python3 -m venv .venv && .venv/bin/pip install -r 'req s.txt'",
          timeoutSeconds: 600,
        },
        { name: "assets", command: "echo \"$(id) `date`\"\nmake 'it'", timeoutSeconds: 5 },
      ],
      exclude: EXCLUDE,
    }),
  ],
  ["kill-switch, ON", killSwitchStepScript(ROOT, ID, { ...KS, value: true }, NOT_SWITCHED)],
  ["kill-switch, env format, at destroy", disableKillSwitchScript(ROOT, { ...KS, format: "env" })],
  ...(["staged", "live", "keep"] as const).map((phase): [string, string] => {
    const a = {
      root: ROOT,
      releaseId: ID,
      killSwitch: { ...KS, value: phase === "live" },
      probes: PROBES,
      invariants: INVARIANTS,
      restartCommand: "systemctl restart 'my app' && echo \"$PWD\"",
      exclude: EXCLUDE,
      onFailure: {
        onLiveFailure: phase === "keep" ? ("keep" as const) : ("revert" as const),
        lockToken: TOKEN,
        who: LOCK.holder,
        host: LOCK.host,
      },
    };
    if (phase === "staged") return ["staged probes", stagedProofScript(a)];
    return phase === "keep"
      ? ["proof, onLiveFailure keep", proofScript(a)]
      : ["proof", proofScript(a)];
  }),
  [
    "promote",
    promoteScript({
      root: ROOT,
      releaseId: ID,
      commit: "e".repeat(40),
      sha256: "f".repeat(64),
      who: "op 'x'",
      host: "lap$top",
      keepReleases: 5,
      lockToken: TOKEN,
    }),
  ],
  [
    "signature",
    signatureScript({
      root: ROOT,
      releaseId: ID,
      trustedKeys: TRUSTED,
      configPath: "hosts[0].trustedKeys",
      lockToken: TOKEN,
      missingUpload: "upload it again: pulumi up --replace 'urn:x$y'",
    }),
  ],
  ["after a refusal", script(refusalStateScript(ROOT, FILE))],
  ["server facts", serverFactsScript(ROOT, ID, EXCLUDE)],
  ["revisions log", revisionsLogScript(ROOT)],
  ["server tree", serverTreeScript(ROOT, `${ROOT}/current`, EXCLUDE, SHARED)],
  ["fetch files", fetchFilesScript(`${ROOT}/current`, ["app/odd 'name' $x.py", "new\nline"])],
  [
    "local upload",
    localCopyScript("/tmp/it's $x/a.tar.gz", `${ROOT}/.deploy/uploads/${ID}.tar.gz`),
  ],
];

// Whole transactions, as HostDeployment runs them: every step of the production sequence (the
// preparation and the probes declared), each with its refusal handler, the survey's findings
// as comments; a kept release's; and what `pulumi destroy` runs.
const SETTINGS: StepSettings = {
  deployRoot: ROOT,
  sharedFiles: SHARED,
  keepReleases: 5,
  keepBackups: 2,
  killSwitch: KS,
  proof: PROBES,
  invariants: INVARIANTS,
  beforeSwitch: [{ name: "venv", command: "echo \"$(id) `date`\"\nmake 'it'", timeoutSeconds: 9 }],
  restartCommand: "systemctl restart 'my app' && echo \"$PWD\"",
  onLiveFailure: "revert",
  breakStaleLock: true,
  staleLockSeconds: 900,
  acceptDrift: false,
};
const STEP_ARGS: HostStepsArgs = {
  deploy: SETTINGS,
  artifact: { releaseId: ID, commit: "e".repeat(40), sha256: "f".repeat(64) },
  manifest: MANIFEST,
  links: LINKS,
  entries: ENTRIES,
  evidence: '{"payload":"e30=","sig": "it\'s $HOME `x`"}\nSSOT_\n',
  lock: LOCK,
  exclude: EXCLUDE,
  invariantsBefore: INVARIANTS.map((v) => v.before),
  driftReconciled: true,
  reupload: "pulumi up --replace 'urn:pulumi:s::p::a$b::web1-release-upload'",
  trustedKeys: { keys: TRUSTED, configPath: "hosts[0].trustedKeys" },
};
const STEPS = hostSteps(STEP_ARGS);
const KEPT = hostSteps({
  deploy: { ...SETTINGS, killSwitch: { ...KS, value: true, format: "env" } },
  artifact: {
    releaseId: ID,
    commit: "e".repeat(40),
    sha256: "f".repeat(64),
    kept: true,
    manifestSha256: "1".repeat(64),
    linksSha256: "2".repeat(64),
    entriesSha256: "3".repeat(64),
  },
  lock: LOCK,
  exclude: EXCLUDE,
  invariantsBefore: [],
  driftReconciled: false,
  reupload: "none",
  trustedKeys: { keys: TRUSTED, configPath: "trustedKeys" },
});
SCRIPTS.push(
  ["transaction", deployScript(STEPS, ["the lock is held by 'x' $(id)", "drift:\n`a`"])],
  ["transaction, a kept release", deployScript(KEPT, [])],
  ["transaction, at destroy", destroyScript(STEPS)],
  ["prepare phase", deployScript(prepareSteps(STEP_ARGS), [])],
  ["switch phase", deployScript(switchSteps(STEP_ARGS, "0123456789abcdef"), [])],
  ["the prepare phase's mark", markPreparedScript(ROOT, ID, TOKEN)],
);

/** The generators the rows above call, by their exported names. */
const COVERED = [
  "surveyScript",
  "targetScript",
  "keptScript",
  "acquireLockScript",
  "releaseLockScript",
  "breakLockScript",
  "statusScript",
  "backupScript",
  "stageScript",
  "signatureScript",
  "killSwitchStepScript",
  "beforeSwitchScript",
  "disableKillSwitchScript",
  "stagedProofScript",
  "proofScript",
  "promoteScript",
  "refusalStateScript",
  "markPreparedScript",
  "serverFactsScript",
  "revisionsLogScript",
  "serverTreeScript",
  "fetchFilesScript",
  "localCopyScript",
  "transactionScript",
];

const run = (cmd: string, args: string[], input: string) =>
  spawnSync(cmd, args, { input, encoding: "utf8" });

describe("every remote script, as text", () => {
  it("covers every script generator in remote/: each exported *Script function has a row", () => {
    const dir = path.join(projectRoot(), "dist", "remote");
    const generators = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".js"))
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- every module of the folder, by name
      .flatMap((f) => Object.keys(require(path.join(dir, f)) as Record<string, unknown>))
      .filter((k) => k.endsWith("Script"));
    expect(generators.sort()).to.deep.equal([...COVERED].sort());
  });

  for (const [name, text] of SCRIPTS) {
    it(`parses as POSIX sh (sh -n): ${name}`, () => {
      const r = run("sh", ["-n"], text);
      expect(r.stderr, text).to.equal("");
      expect(r.status).to.equal(0);
    });

    it(`passes shellcheck for POSIX sh: ${name}`, () => {
      const r = run("shellcheck", ["--shell=sh", "--severity=warning", "--format=gcc", "-"], text);
      expect(r.error, "shellcheck is not installed (apt-get install -y shellcheck)").to.equal(
        undefined,
      );
      expect(r.stdout, r.stdout).to.equal("");
      expect(r.status).to.equal(0);
    });
  }
});
