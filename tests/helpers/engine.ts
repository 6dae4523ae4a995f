export { acted, readEvents } from "../../testbed/events";
export type { Diagnostic, EngineRun, EngineStep } from "../../testbed/events";
export { ThrowawayStack as EngineStack } from "../../testbed/stack";
