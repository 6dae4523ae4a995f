import picomatch from "picomatch";

/**
 * Never shipped, whatever the config says. Patterns follow .gitignore's shape: without a "/"
 * a pattern matches a name at any depth; with one it is anchored at the repository root; a
 * trailing "/" matches directories only. A matched directory takes everything beneath it.
 */
export const BUILTIN_EXCLUDES: readonly string[] = [
  ".git",
  ".env*",
  "id_rsa",
  "id_dsa",
  "id_ecdsa",
  "id_ed25519",
  "*.key",
  "*.p12",
  "*.pfx",
  "__pycache__/",
  "*.pyc",
  ".pytest_cache/",
  ".mypy_cache/",
  ".venv/",
  "node_modules/",
  ".DS_Store",
];

type Matcher = (path: string) => boolean;

const never: Matcher = () => false;

// picomatch's own `basename` option also applies to patterns holding a slash, so the two
// shapes are compiled apart: bare names against the last segment, the rest against the path.
function compile(patterns: readonly string[]): Matcher {
  const bare = patterns.filter((p) => !p.includes("/"));
  const anchored = patterns.filter((p) => p.includes("/")).map((p) => p.replace(/^\//, ""));
  const byName = bare.length > 0 ? picomatch(bare, { dot: true }) : never;
  const byPath = anchored.length > 0 ? picomatch(anchored, { dot: true }) : never;
  return (path) => byName(path.slice(path.lastIndexOf("/") + 1)) || byPath(path);
}

/**
 * Decides, for every path of the committed tree, whether it goes into the artifact. Answers
 * for directories are remembered, so a tree of N files costs O(N) matcher calls.
 */
export class ExcludeFilter {
  private readonly any: Matcher;
  private readonly dirOnly: Matcher;
  private readonly dirCache = new Map<string, boolean>();

  constructor(extra: readonly string[] = []) {
    const all = [...BUILTIN_EXCLUDES, ...extra];
    this.any = compile(all.filter((p) => !p.endsWith("/")));
    this.dirOnly = compile(all.filter((p) => p.endsWith("/")).map((p) => p.slice(0, -1)));
  }

  /** True when `path` (relative, "/"-separated) is excluded, itself or through a parent. */
  excludes(path: string, isDir = false): boolean {
    const clean = path.replace(/\/+$/, "");
    const slash = clean.lastIndexOf("/");
    if (slash > 0 && this.excludesDir(clean.slice(0, slash))) return true;
    return isDir ? this.excludesDir(clean) : this.any(clean);
  }

  private excludesDir(dir: string): boolean {
    const hit = this.dirCache.get(dir);
    if (hit !== undefined) return hit;
    const slash = dir.lastIndexOf("/");
    const result =
      (slash > 0 && this.excludesDir(dir.slice(0, slash))) || this.any(dir) || this.dirOnly(dir);
    this.dirCache.set(dir, result);
    return result;
  }
}
