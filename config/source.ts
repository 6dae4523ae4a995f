import * as path from "node:path";
import { z } from "zod";
import { ConfigError } from "./errors";
import { KeySpec, parseKeys, PROJECT, RawConfig } from "./keys";
import { PATH_RULE, pathRuleText, safePath } from "./pathRule";

/** Validated settings for the gates that run on this machine (G0–G4). */
export interface SourceConfig {
  /** Absolute path of the SSOT git repository on this machine. */
  repo: string;
  /** Commit, tag or branch to deploy. */
  ref: string;
  /**
   * A release this stack deployed before and that is still staged on every host, to switch
   * back to without building or testing again; unset (config "") deploys `ref`.
   */
  release?: string;
  /** Mainline that `ref` must be reachable from. */
  branch: string;
  /** What G1 compares against when nothing is deployed yet; unset when config is "". */
  baseRef?: string;
  /** Shell command that runs the application's tests in a clean export. */
  testCommand: string;
  /** Least number of tests the run must report; unset (config 0) means no minimum. */
  expectedTests?: number;
  /** Seconds before the test run is killed. */
  testTimeoutSeconds: number;
  /** Globs excluded from the artifact on top of the built-in ones. */
  exclude: string[];
  /** Local directory for artifacts and the test cache, absolute. */
  workDir: string;
  /** Where each run's report goes, as <reportDir>/<stack>/<UTC time>.md; absolute. */
  reportDir: string;
}

const nonEmpty = z.string().trim().min(1);
// Refs reach git as arguments; a leading dash would be read as an option.
const gitRef = nonEmpty.refine((s) => !s.startsWith("-") && !/[\s\x00-\x1f]/.test(s));
const positiveInt = z.coerce.number().int().positive();

// Defaults live here and in Pulumi.yaml; a test keeps the two equal.
export const DEFAULTS = {
  baseRef: "",
  expectedTests: 0,
  ref: "HEAD",
  release: "",
  branch: "main",
  testTimeoutSeconds: 900,
  exclude: [] as string[],
  workDir: ".ssot-deploy",
  reportDir: "reports",
};

const SPECS = {
  repo: {
    // The SSOT repo often sits beside the project, so leading '..' is allowed here only.
    schema: safePath("directory", "allowed"),
    rule: `the path of the SSOT git repository on this machine, with ${pathRuleText("allowed")}`,
    fix: "pulumi config set repo /path/to/your/repo",
  },
  ref: {
    schema: gitRef,
    rule: "a commit, tag or branch name without whitespace or a leading '-'",
    fix: "pulumi config set ref v1.2.0",
  },
  release: {
    schema: z.string().regex(/^([0-9a-f]{12}-[0-9a-f]{8})?$/),
    rule: "a release id as npm run status lists it (12 hex digits of the commit, '-', 8 of the tar digest), or empty",
    fix: "pulumi config set release 3f2a9c81d4e7-5b0c1d2e (or pulumi config set release '' to deploy ref)",
  },
  branch: {
    schema: gitRef,
    rule: "a branch name without whitespace or a leading '-'",
    fix: "pulumi config set branch main",
  },
  baseRef: {
    schema: gitRef,
    rule: "a commit, tag or branch name without whitespace or a leading '-'",
    fix: "pulumi config set baseRef v1.1.0",
  },
  testCommand: {
    schema: nonEmpty,
    rule: "a non-empty shell command",
    fix: "pulumi config set testCommand 'python3 -m unittest discover -s tests'",
  },
  expectedTests: {
    schema: z.coerce.number().int().min(0),
    rule: "a whole number of tests, 0 for no minimum",
    fix: "pulumi config set expectedTests 394",
  },
  testTimeoutSeconds: {
    schema: positiveInt.max(86400),
    rule: "an integer number of seconds from 1 to 86400",
    fix: "pulumi config set testTimeoutSeconds 900",
  },
  exclude: {
    schema: z.array(nonEmpty.refine((g) => !g.startsWith("!"))),
    rule: "a list of glob strings, none negated with '!'",
    fix: "pulumi config set --path 'exclude[0]' 'docs/**'",
    json: true,
  },
  workDir: {
    schema: safePath("directory"),
    rule: `a directory path with ${PATH_RULE}`,
    fix: "pulumi config set workDir .ssot-deploy",
  },
  reportDir: {
    schema: safePath("directory"),
    rule: `a directory path with ${PATH_RULE}`,
    fix: "pulumi config set reportDir reports",
  },
} satisfies Record<string, KeySpec<unknown>>;

type Specs = typeof SPECS;
type Parsed = { [K in keyof Specs]?: z.infer<Specs[K]["schema"]> };

/** Parses and validates raw config, reporting every problem at once. Exported for testing. */
export function parseSourceConfig(raw: RawConfig, cwd: string = process.cwd()): SourceConfig {
  const { values, problems } = parseKeys(raw, SPECS);
  const out = values as Parsed;
  const required = {
    repo: "the path of the SSOT git repository on this machine",
    testCommand: SPECS.testCommand.rule,
  };
  for (const [key, what] of Object.entries(required) as [keyof typeof required, string][]) {
    if (out[key] === undefined && !problems.some((p) => p.key === `${PROJECT}:${key}`))
      problems.push({ key: `${PROJECT}:${key}`, rule: `set to ${what}`, fix: SPECS[key].fix });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    repo: path.resolve(cwd, out.repo as string),
    ref: out.ref ?? DEFAULTS.ref,
    release: out.release === "" ? undefined : out.release,
    branch: out.branch ?? DEFAULTS.branch,
    baseRef: out.baseRef,
    testCommand: out.testCommand as string,
    expectedTests: out.expectedTests === 0 ? undefined : out.expectedTests,
    testTimeoutSeconds: out.testTimeoutSeconds ?? DEFAULTS.testTimeoutSeconds,
    exclude: out.exclude ?? DEFAULTS.exclude,
    workDir: path.resolve(cwd, out.workDir ?? DEFAULTS.workDir),
    reportDir: path.resolve(cwd, out.reportDir ?? DEFAULTS.reportDir),
  };
}

/** The keys this module reads. */
export const SOURCE_KEYS = Object.keys(SPECS);

/** How each of those keys is validated. */
export const SOURCE_SPECS: Readonly<Record<string, KeySpec<unknown>>> = SPECS;
