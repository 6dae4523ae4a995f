/** This tool's version, as the provenance's builder records it; a test keeps it equal to package.json. */
export const TOOL_VERSION = "0.1.0";
