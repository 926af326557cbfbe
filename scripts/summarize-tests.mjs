// Prints one closing line over every suite, "N passed, N failed", from the
// JSON reports vitest and Playwright wrote.
import fs from "node:fs";

let passed = 0;
let failed = 0;
let skipped = 0;

const [unitReport, e2eReport] = process.argv.slice(2);

// A missing report means a suite did not run: that is a failure, not zero tests.
for (const report of [unitReport, e2eReport]) {
  if (!report || !fs.existsSync(report)) {
    console.error(`missing test report: ${report}`);
    process.exit(1);
  }
}

if (unitReport) {
  const unit = JSON.parse(fs.readFileSync(unitReport, "utf8"));
  passed += unit.numPassedTests;
  failed += unit.numFailedTests;
  skipped += unit.numPendingTests + unit.numTodoTests;
}

if (e2eReport) {
  const e2e = JSON.parse(fs.readFileSync(e2eReport, "utf8"));
  passed += e2e.stats.expected + e2e.stats.flaky;
  failed += e2e.stats.unexpected;
  skipped += e2e.stats.skipped;
}

console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
