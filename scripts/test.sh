#!/usr/bin/env bash
# The README's test command: installs what the tests need, then runs every
# suite — unit and integration (vitest, against PGlite, the PostgreSQL server
# on 127.0.0.1:5432 and a local S3-compatible server), a production build, and
# the end-to-end suite in Debian's Chromium against the real server.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-system-packages.sh

# A clean, exact install from the lockfile (always on CI, or when out of date locally).
if [ -n "${CI:-}" ] || [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund </dev/null
fi

rm -rf .reports && mkdir -p .reports
npx tsc --noEmit -p tsconfig.json
npx prettier --check . </dev/null
npm run --silent lint </dev/null
npm run --silent db:check </dev/null
npx vitest run --reporter=default --reporter=json --outputFile.json=.reports/unit.json </dev/null
npx next build </dev/null
npx playwright test </dev/null

node scripts/summarize-tests.mjs .reports/unit.json .reports/e2e.json
