// Prints one closing line over every suite, "N passed, N failed", from the
// JSON reports vitest and Playwright wrote.
import fs from "node:fs";

let passed = 0;
let failed = 0;
let skipped = 0;

const [unitReport, e2eReport] = process.argv.slice(2);

if (unitReport && fs.existsSync(unitReport)) {
  const unit = JSON.parse(fs.readFileSync(unitReport, "utf8"));
  passed += unit.numPassedTests;
  failed += unit.numFailedTests;
  skipped += unit.numPendingTests + unit.numTodoTests;
}

if (e2eReport && fs.existsSync(e2eReport)) {
  const e2e = JSON.parse(fs.readFileSync(e2eReport, "utf8"));
  passed += e2e.stats.expected + e2e.stats.flaky;
  failed += e2e.stats.unexpected;
  skipped += e2e.stats.skipped;
}

console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
