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
