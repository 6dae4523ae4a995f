import { BackupResult } from "../remote/backup";
import { BeforeSwitchResult } from "../remote/beforeSwitch";
import { ProofResult } from "../remote/proof";

/** What one host's deploy leaves, for the stack outputs. */
export interface HostSummary {
  releaseId: string;
  staged: string;
  promoted: string;
  previous: string;
  backup: BackupResult;
  killSwitch: { declared: boolean; readBack: boolean | undefined };
  restarted: string;
  /** What the beforeSwitch commands did. */
  beforeSwitch: BeforeSwitchResult;
  proof: ProofResult;
  pruned: string[];
  lock: string;
  /** sha256 of the revisions-log entry that records this release going live. */
  revision: string;
  /** What the server's Signature step found: verified by which key, or not checked. */
  signature: string;
}
