import { expect } from "chai";
import { parseTestOutput, TestCounts } from "../../gates/testParse";

const cases: [
  string,
  string,
  (Omit<TestCounts, "format"> & { format: TestCounts["format"] }) | undefined,
][] = [
  [
    "Python unittest, all passing",
    "...\n-----\nRan 394 tests in 2.345s\n\nOK\n",
    { passed: 394, failed: 0, skipped: 0, total: 394, format: "unittest" },
  ],
  [
    "Python unittest with failures, errors and skips",
    "Ran 10 tests in 0.1s\n\nFAILED (failures=2, errors=1, skipped=3)\n",
    { passed: 4, failed: 3, skipped: 3, total: 10, format: "unittest" },
  ],
  [
    "Python unittest, one test",
    "Ran 1 test in 0.001s\n\nOK (skipped=1)\n",
    { passed: 0, failed: 0, skipped: 1, total: 1, format: "unittest" },
  ],
  [
    "pytest, all passing",
    "============ 394 passed in 3.21s ============\n",
    { passed: 394, failed: 0, skipped: 0, total: 394, format: "pytest" },
  ],
  [
    "pytest with failures, errors and skips",
    "=== 2 failed, 390 passed, 1 skipped, 1 error in 4.00s ===\n",
    { passed: 390, failed: 3, skipped: 1, total: 394, format: "pytest" },
  ],
  [
    "mocha",
    "  12 passing (30ms)\n  1 pending\n  2 failing\n",
    { passed: 12, failed: 2, skipped: 1, total: 15, format: "mocha" },
  ],
  [
    "node's test runner, spec reporter",
    "ℹ tests 5\nℹ suites 1\nℹ pass 4\nℹ fail 1\nℹ cancelled 0\nℹ skipped 0\nℹ todo 0\n",
    { passed: 4, failed: 1, skipped: 0, total: 5, format: "node-test" },
  ],
  [
    "node's test runner, tap reporter",
    "# tests 3\n# pass 3\n# fail 0\n",
    { passed: 3, failed: 0, skipped: 0, total: 3, format: "node-test" },
  ],
  [
    "the plain line",
    "12 passed, 0 failed\n",
    { passed: 12, failed: 0, skipped: 0, total: 12, format: "plain" },
  ],
  [
    "the plain line with a label and skips",
    "Result: 7 passed, 1 failed, 2 skipped\n",
    { passed: 7, failed: 1, skipped: 2, total: 10, format: "plain" },
  ],
  [
    "colour codes around a summary",
    "\u001b[32m  5 passing (3ms)\u001b[0m\n",
    { passed: 5, failed: 0, skipped: 0, total: 5, format: "mocha" },
  ],
  ["output with no summary", "all good!\n", undefined],
  ["a plain line that is not alone on its line", "we saw 3 passed, 0 failed today\n", undefined],
];

describe("parseTestOutput", () => {
  for (const [name, output, expected] of cases) {
    it(`reads ${name}`, () => expect(parseTestOutput(output)).to.deep.equal(expected));
  }
});
