export type GateId = "G0" | "G1" | "G2" | "G3" | "G4" | "G5" | "G6" | "G7";
export type GateStatus = "PASS" | "FAIL" | "SKIPPED";

export const GATE_NAMES: Record<GateId, string> = {
  G0: "precheck",
  G1: "change-set survey",
  G2: "SSOT discipline",
  G3: "tests",
  G4: "artifact",
  G5: "deploy",
  G6: "postdeploy proof",
  G7: "rollback / disable",
};

export interface GateResult {
  id: GateId;
  name: string;
  status: GateStatus;
  /** One line: what was checked and what was found. */
  detail: string;
}

/** What a failing gate reports: the exact gap, and the exact next action. */
export interface GateFailure {
  gap: string;
  next: string;
}

export function gate(id: GateId, status: GateStatus, detail: string): GateResult {
  return { id, name: GATE_NAMES[id], status, detail };
}

/** A changed path; `sha256` is set when the file goes into the artifact. */
export interface ChangedFile {
  path: string;
  from?: string;
  sha256?: string;
}

export interface ChangeSet {
  /** The commit compared against, or null on a first deploy with no baseRef. */
  base: string | null;
  /** Where the base came from: the server's live release, `baseRef`, or nowhere. */
  baseSource: "server" | "baseRef" | "none";
  target: string;
  added: ChangedFile[];
  modified: ChangedFile[];
  deleted: string[];
  renamed: ChangedFile[];
  /** Changed paths that the excludes keep out of the artifact. */
  excluded: string[];
  artifactFiles: number;
  scan: {
    scanned: number;
    skipped: number;
    findings: number;
    /**
     * For a rollback to a kept release: the release whose first deploy's scan is not run again;
     * the counts are then those its signed provenance records, when it records them.
     */
    keptFrom?: string;
    /** Whether the kept release's signed provenance records its first deploy's scan. */
    keptRecorded?: boolean;
  };
}
