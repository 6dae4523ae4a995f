import Mocha from "mocha";
import { figures } from "./tally";

/**
 * mocha's spec reporter, closed by the reliability figures the suites gathered and by the
 * plain "N passed, N failed, N skipped" line that CI systems read whatever the test runner.
 */
class SpecWithTotals extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const s = runner.stats;
      const f = figures();
      if (f) process.stdout.write(`\nreliability:\n${f}\n`);
      if (s)
        process.stdout.write(`\n${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`);
    });
  }
}

export = SpecWithTotals;
