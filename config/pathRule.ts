import { z } from "zod";

/** What a path must be shaped as, besides the rule every path keeps. */
export type PathShape =
  /** A directory named from / (deployRoot for target ssh); one trailing slash is dropped. */
  | "absolute"
  /** A directory, absolute or relative to the project; one trailing slash is dropped. */
  | "directory"
  /** A file under a release or shared/: relative, no trailing slash. */
  | "relative"
  /** One path segment: a host's name, which becomes a directory name. */
  | "segment";

/** The rule, in the words every error repeats. */
export function pathRuleText(parents: "refused" | "allowed" = "refused"): string {
  return parents === "refused"
    ? "no control character, no leading or trailing whitespace, and no empty, '.' or '..' segment"
    : "no control character, no leading or trailing whitespace, no empty or '.' segment, and '..' only at its start";
}

export const PATH_RULE = pathRuleText();

// C0 and C1 controls and DEL: a newline in a path turns one path into two on the server.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Why `value` is not a safe path of the given shape, or undefined when it is. `parents` lets a
 * path on this machine climb with leading '..' (the SSOT repo beside the project). Exported for
 * testing.
 */
export function pathProblem(
  value: string,
  shape: PathShape,
  parents: "refused" | "allowed" = "refused",
): string | undefined {
  const ctl = CONTROL.exec(value);
  if (ctl) return `it holds the control character U+${hex(ctl[0])}`;
  if (value === "") return "it is empty";
  if (/^\s/.test(value)) return "it starts with whitespace";
  if (/\s$/.test(value)) return "it ends with whitespace";
  if (shape === "absolute" && !value.startsWith("/")) return "it is not absolute";
  if ((shape === "relative" || shape === "segment") && value.startsWith("/"))
    return "it is absolute";
  if (shape === "segment" && value.includes("/")) return "it holds a '/'";
  if (shape === "relative" && value.endsWith("/")) return "it ends with '/'";
  const body = value.replace(/^\//, "").replace(/\/$/, "");
  if (body === "") return "it names /";
  const segments = body.split("/");
  if (segments.includes("")) return "it has an empty segment ('//')";
  if (segments.includes(".")) return "it has a '.' segment";
  const climbs = segments.findIndex((s) => s === "..");
  if (climbs >= 0) {
    const leading = segments.slice(0, climbs + 1).every((s) => s === "..");
    const below = segments.slice(climbs + 1).every((s) => s !== "..");
    if (parents === "refused" || !leading || !below || value.startsWith("/"))
      return "it has a '..' segment";
  }
  return undefined;
}

/** The same path with the one trailing slash a directory may carry dropped. */
export function normalizedPath(value: string): string {
  return value.length > 1 ? value.replace(/\/$/, "") : value;
}

/** A zod string that keeps the path rule, its failure naming the reason. */
export function safePath(shape: PathShape, parents: "refused" | "allowed" = "refused") {
  return z
    .string()
    .superRefine((v, ctx) => {
      const problem = pathProblem(v, shape, parents);
      if (problem !== undefined)
        ctx.addIssue({ code: "custom", message: problem, params: { reason: true } });
    })
    .transform((v) => (shape === "absolute" || shape === "directory" ? normalizedPath(v) : v));
}

function hex(c: string): string {
  return c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
}
