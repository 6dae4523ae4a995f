import { z } from "zod";
import { ConfigProblem } from "./errors";
import { pathOf, unknownFields, unknownFieldText } from "./fields";

/** The project name, which is also the config namespace (`ssot-deploy:<key>`). */
export const PROJECT = "ssot-deploy";

/** Raw config as Pulumi hands it to a program: every value a string, objects as JSON. */
export type RawConfig = Record<string, string | undefined>;

/** How one key is validated, and what its error says. */
export interface KeySpec<T> {
  schema: z.ZodType<T>;
  rule: string;
  fix: string;
  json?: boolean;
}

/**
 * Runs each set key through its spec: JSON first where the spec says so, then the schema.
 * Unset and empty keys are left out; every problem is collected, none thrown.
 */
export function parseKeys(
  raw: RawConfig,
  specs: Record<string, KeySpec<unknown>>,
): { values: Record<string, unknown>; problems: ConfigProblem[] } {
  const values: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  for (const [key, spec] of Object.entries(specs)) {
    const value = raw[key];
    if (value === undefined || value === "") continue;
    const problem = (got: string) =>
      problems.push({ key: `${PROJECT}:${key}`, rule: spec.rule, got, fix: spec.fix });
    let input: unknown = value;
    if (spec.json) {
      try {
        input = JSON.parse(value);
      } catch {
        problem("text that is not JSON");
        continue;
      }
    }
    const holes = placeholders(key, input, spec.json === true);
    if (holes.length > 0) {
      problems.push(...holes);
      continue;
    }
    const result = spec.schema.safeParse(input);
    if (result.success) {
      values[key] = result.data;
      continue;
    }
    // A field no object declares is refused by name, at any depth: dropped, it would take a
    // check away unseen (a probe's misspelt expectOutput, say). The declared field it stands
    // for may then be missing: the same mistake, not reported twice.
    const unknown = unknownFields(key, spec.schema, result.error.issues);
    for (const u of unknown)
      problems.push({ key: `${PROJECT}:${key}`, rule: spec.rule, ...unknownFieldText(u) });
    const meant = new Set(unknown.flatMap((u) => (u.near ? [pathOf(u.object, [u.near])] : [])));
    const issue = result.error.issues.find(
      (i) =>
        i.code !== "unrecognized_keys" &&
        !(meant.has(pathOf(key, i.path)) && valueAt(input, i.path).value === undefined),
    );
    if (issue === undefined) continue;
    // A rule that knows why it failed (a path's control character, say): the got says it.
    const why = issue.code === "custom" && issue.params?.reason ? `: ${issue.message}` : "";
    problem((spec.json ? offending(key, input, issue.path) : JSON.stringify(value)) + why);
  }
  return { values, problems };
}

/** A value a stack file ships for the operator to replace, "<fill in: what goes here>". */
const PLACEHOLDER = /^<fill in: ([^<>]*)>$/;

/** Every placeholder still in a value, each a problem naming where it is and what it needs. */
function placeholders(key: string, input: unknown, json: boolean): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const walk = (v: unknown, at: string) => {
    if (typeof v === "string") {
      const m = PLACEHOLDER.exec(v);
      if (m)
        out.push({
          key: `${PROJECT}:${key}`,
          rule: "filled in",
          got: `${at} = ${JSON.stringify(v)}`,
          fix: json
            ? `pulumi config set --path '${at}' <${m[1]}>`
            : `pulumi config set ${key} <${m[1]}>`,
        });
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
    else if (v !== null && typeof v === "object")
      for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`);
  };
  walk(input, key);
  return out;
}

/**
 * The part of a JSON value that broke its rule, as `hosts[0].port = "ssh"`, so that a long list
 * does not hide the one bad field; the whole value when the rule is about the whole.
 */
function offending(key: string, input: unknown, at: readonly PropertyKey[]): string {
  const { value, walked } = valueAt(input, at);
  return `${pathOf(key, walked)} = ${JSON.stringify(value) ?? "nothing"}`;
}

/** The value at `at`, as far down as the value goes. */
function valueAt(input: unknown, at: readonly PropertyKey[]) {
  let value: unknown = input;
  const walked: PropertyKey[] = [];
  for (const k of at) {
    if (value === null || typeof value !== "object") break;
    value = (value as Record<PropertyKey, unknown>)[k];
    walked.push(k);
  }
  return { value, walked };
}
