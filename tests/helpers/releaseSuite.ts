import * as fs from "node:fs";
import { BuiltArtifact } from "../../gates/artifact/build";
import { SshSession } from "../../survey/ssh";
import { TestSshd } from "../../testbed/sshd";
import { artifactOf } from "./release";
import { FixtureRepo, tempDir } from "./repo";

/** What a script-level suite deploys with: a session to a real sshd, and two releases. */
export interface ReleaseFixture {
  ssh: SshSession;
  repo: FixtureRepo;
  /** A scratch folder the suite removes after: the artifacts are built there. */
  work: string;
  v1: BuiltArtifact;
  v2: BuiltArtifact;
}

export interface ReleaseSuiteOptions {
  /** Runs on the fixture repository before v1 is built (its changes are committed by it). */
  prepare?: (repo: FixtureRepo) => void;
  /** The files v2 changes; by default its service answers "v2:<mode>". */
  v2Files?: Record<string, string>;
}

/**
 * Registers the hooks of a suite that runs the release scripts against a real sshd: the server
 * and a session to it, a fixture repository and its releases v1 and v2 built, all removed after.
 * `get()` gives them once the suite's `before` hooks have run.
 */
export function releaseSuite(o: ReleaseSuiteOptions = {}): { get(): ReleaseFixture } {
  let sshd: TestSshd;
  let work: string;
  let fixture: ReleaseFixture | undefined;
  before(async () => {
    sshd = await TestSshd.start();
    const ssh = await SshSession.connect(sshd.target());
    const repo = FixtureRepo.create();
    o.prepare?.(repo);
    work = tempDir();
    const v1 = await artifactOf(repo, repo.head(), work);
    repo.commit(
      "v2",
      o.v2Files ?? { "app/service.py": "def run(mode):\n    return 'v2:' + mode\n" },
    );
    fixture = { ssh, repo, work, v1, v2: await artifactOf(repo, repo.head(), work) };
  });
  after(async () => {
    fixture?.ssh.close();
    await sshd?.stop();
    fixture?.repo.remove();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });
  return {
    get() {
      if (!fixture) throw new Error("releaseSuite: get() called before its before hook ran");
      return fixture;
    },
  };
}
