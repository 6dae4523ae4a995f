import { closest, distance } from "fastest-levenshtein";
import { z } from "zod";

/**
 * The declared name nearest to `name`, when one is close enough to be a typo of it: a wrong
 * guess would send the operator to move a value to the wrong place.
 */
export function nearest(name: string, declared: readonly string[]): string | undefined {
  if (declared.length === 0) return undefined;
  const near = closest(name, [...declared]);
  const close = distance(name.toLowerCase(), near.toLowerCase()) <= Math.max(2, name.length / 4);
  return close ? near : undefined;
}

/**
 * Where a value sits inside a key, as `pulumi config set --path` takes it: `proof[0].command`;
 * a field that is not a plain name is quoted, `proof[0]["a.b"]`, so the path names that field.
 */
export function pathOf(key: string, at: readonly PropertyKey[]): string {
  return at.reduce<string>((name, k) => {
    if (typeof k === "number") return `${name}[${k}]`;
    const field = String(k);
    return /^[A-Za-z_][A-Za-z0-9_]*$/.test(field)
      ? `${name}.${field}`
      : `${name}[${JSON.stringify(field)}]`;
  }, key);
}

/** The schema without the wrappers that leave its shape as it is (a default, a transform). */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodPipe) s = s.in as z.ZodType;
    else if (s instanceof z.ZodDefault || s instanceof z.ZodOptional || s instanceof z.ZodNullable)
      s = s.unwrap() as z.ZodType;
    else return s;
  }
}

/** The fields the object at `at` inside a value of `schema` declares, in their order. */
export function declaredFields(schema: z.ZodType, at: readonly PropertyKey[]): string[] {
  let s: z.ZodType | undefined = unwrap(schema);
  for (const k of at) {
    if (s instanceof z.ZodArray && typeof k === "number") s = unwrap(s.element as z.ZodType);
    else if (s instanceof z.ZodObject && typeof k === "string" && k in s.shape)
      s = unwrap(s.shape[k] as z.ZodType);
    else return [];
  }
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

/**
 * Where a value of `schema` holds an object: `[]` for the value itself, `[0]` for the objects of
 * a list, at any depth. For the tests that give each of them a field it does not declare.
 */
export function objectsIn(schema: z.ZodType, at: PropertyKey[] = []): PropertyKey[][] {
  const s = unwrap(schema);
  if (s instanceof z.ZodArray) return objectsIn(s.element as z.ZodType, [...at, 0]);
  if (!(s instanceof z.ZodObject)) return [];
  const inner = Object.entries(s.shape).flatMap(([k, v]) => objectsIn(v as z.ZodType, [...at, k]));
  return [at, ...inner];
}

/** A field an object does not declare, where it is, and the declared one it may stand for. */
export interface UnknownField {
  /** The field's full path, `proof[0].expectedOutput`. */
  path: string;
  /** The object's path, `proof[0]`. */
  object: string;
  field: string;
  near?: string;
  declared: string[];
}

/**
 * The fields, anywhere in a value of `schema`, that the strict object holding them does not
 * declare. Sorted within each object: the engine may hand a program an object's fields in
 * another order than the stack file holds them, and the program and the commands that read
 * that file must give the same refusal.
 */
export function unknownFields(
  key: string,
  schema: z.ZodType,
  issues: readonly z.core.$ZodIssue[],
): UnknownField[] {
  return issues.flatMap((issue) => {
    if (issue.code !== "unrecognized_keys") return [];
    const declared = declaredFields(schema, issue.path);
    return [...issue.keys].sort().map((field) => ({
      path: pathOf(key, [...issue.path, field]),
      object: pathOf(key, issue.path),
      field,
      near: nearest(field, declared),
      declared,
    }));
  });
}

/** The refusal's "got" and its fix for an unknown field: the nearest field, or every one. */
export function unknownFieldText(u: UnknownField): { got: string; fix: string } {
  const rm = `pulumi config rm --path ${quoted(u.path)}`;
  if (u.near === undefined)
    return {
      got: `${u.path}, a field ${u.object} does not have; its fields are ${u.declared.join(", ")}`,
      fix: rm,
    };
  const set = `pulumi config set --path ${quoted(pathOf(u.object, [u.near]))} <its value>`;
  return {
    got: `${u.path}, a field ${u.object} does not have: did you mean ${u.near}?`,
    fix: `${rm}, then ${set}`,
  };
}

/** A word the shell passes as it is. */
function quoted(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
