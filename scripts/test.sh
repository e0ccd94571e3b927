#!/usr/bin/env bash
# The test command behind `npm test`: starts the local stack (installing what is missing), checks
# types, then runs the unit and integration tests. npm puts node_modules/.bin first on PATH, so
# `node` here is the Node 22 from the `node` dev dependency.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/stack/up.sh
npx tsc -p tsconfig.json --noEmit
# One file at a time: the service-restart test stops MariaDB and Kafka, and the 2 cores are
# better spent on each test's own processes.
node --test --test-concurrency=1 'test/unit/*.test.ts' 'test/integration/*.test.ts'
