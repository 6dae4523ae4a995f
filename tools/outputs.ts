import type { ArtifactSummary } from "../gates/artifact/build";
import type { AttestationBundle } from "../evidence/bundle";
import type { ChangeSet, GateResult } from "../gates/gate";
import type { FinalResult } from "../evidence/report";
import type { HostSummary } from "../deploy/hostSummary";
import type { SourceResult } from "../gates/sequence";

/** The stack outputs of an up, as `pulumi stack output --json` prints them. */
export interface StackOutputs {
  artifact: ArtifactSummary;
  gates: GateResult[];
  tests: SourceResult["tests"];
  changeSet: ChangeSet;
  /** Per host. */
  deploy: Record<string, HostSummary>;
  /** "deployed" or "no change". */
  result: FinalResult;
  attestation: AttestationBundle;
  /** The path of the run's report. */
  report: string;
}
