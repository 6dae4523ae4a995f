/** Counts read from a test runner's output. `total` includes skipped tests. */
export interface TestCounts {
  passed: number;
  failed: number;
  skipped: number;
  total: number;
  /** Which runner's summary the counts came from. */
  format: "unittest" | "pytest" | "mocha" | "node-test" | "plain";
}

// ANSI colour codes would hide the summary from the patterns below.
const ANSI = /\u001b\[[0-9;]*m/g;

function num(re: RegExp, text: string): number {
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}

function unittest(lines: string[]): TestCounts | undefined {
  const ran = lines.findIndex((l) => /^Ran \d+ tests? in /.test(l));
  if (ran < 0) return undefined;
  const total = num(/^Ran (\d+)/, lines[ran]);
  const verdict = lines.slice(ran + 1).find((l) => /^(OK|FAILED)\b/.test(l)) ?? "";
  const failed =
    num(/failures=(\d+)/, verdict) +
    num(/errors=(\d+)/, verdict) +
    num(/unexpected successes=(\d+)/, verdict);
  const skipped = num(/skipped=(\d+)/, verdict) + num(/expected failures=(\d+)/, verdict);
  return { passed: total - failed - skipped, failed, skipped, total, format: "unittest" };
}

function pytest(lines: string[]): TestCounts | undefined {
  const line = [...lines]
    .reverse()
    .find((l) =>
      /^=+ .*\b(passed|failed|error|errors|skipped|no tests ran)\b.* in [\d.]+s.* =+$/.test(l),
    );
  if (!line) return undefined;
  const passed = num(/(\d+) passed/, line) + num(/(\d+) xpassed/, line);
  const failed = num(/(\d+) failed/, line) + num(/(\d+) errors?\b/, line);
  const skipped = num(/(\d+) skipped/, line) + num(/(\d+) xfailed/, line);
  return { passed, failed, skipped, total: passed + failed + skipped, format: "pytest" };
}

function mocha(lines: string[]): TestCounts | undefined {
  const passing = lines.find((l) => /^\d+ passing \(/.test(l));
  if (!passing) return undefined;
  const passed = num(/^(\d+)/, passing);
  const failed = num(/^(\d+) failing$/, lines.find((l) => /^\d+ failing$/.test(l)) ?? "");
  const skipped = num(/^(\d+) pending$/, lines.find((l) => /^\d+ pending$/.test(l)) ?? "");
  return { passed, failed, skipped, total: passed + failed + skipped, format: "mocha" };
}

function nodeTest(lines: string[]): TestCounts | undefined {
  // The spec reporter prints "ℹ tests 3", the tap reporter "# tests 3".
  const field = (name: string) => {
    const l = lines.find((x) => new RegExp(`^(?:ℹ|#) ${name} \\d+$`).test(x));
    return l === undefined ? undefined : Number(l.split(" ")[2]);
  };
  const total = field("tests");
  const pass = field("pass");
  if (total === undefined || pass === undefined) return undefined;
  const failed = (field("fail") ?? 0) + (field("cancelled") ?? 0);
  const skipped = (field("skipped") ?? 0) + (field("todo") ?? 0);
  return { passed: pass, failed, skipped, total, format: "node-test" };
}

function plain(lines: string[]): TestCounts | undefined {
  const line = [...lines]
    .reverse()
    .find((l) => /^(?:\w+: )?\d+ passed, \d+ failed(?:, \d+ skipped)?$/.test(l));
  if (!line) return undefined;
  const passed = num(/(\d+) passed/, line);
  const failed = num(/(\d+) failed/, line);
  const skipped = num(/(\d+) skipped/, line);
  return { passed, failed, skipped, total: passed + failed + skipped, format: "plain" };
}

/**
 * Reads pass/fail counts from the output of Python's unittest, pytest, mocha, node's test
 * runner, or a plain "N passed, N failed" line. The first format recognised wins, in that
 * order, because a pytest run may also print unittest's lines but never the reverse.
 */
export function parseTestOutput(output: string): TestCounts | undefined {
  const lines = output
    .replace(ANSI, "")
    .split(/\r?\n/)
    .map((l) => l.trim());
  return pytest(lines) ?? unittest(lines) ?? mocha(lines) ?? nodeTest(lines) ?? plain(lines);
}
