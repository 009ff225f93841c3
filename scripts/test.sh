#!/usr/bin/env bash
# Runs the full test suite from a fresh clone: installs what it needs, starts throwaway
# PostgreSQL and Redis instances on their own ports (55432, 56379; they never collide with the
# quick start's), type-checks, lints, builds, and runs every unit, integration and end-to-end
# test against the real services. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/test-services.sh
export NX_DAEMON=false NX_NO_CLOUD=true NX_SKIP_NX_CACHE=true

ensure_node_modules
generate_and_build

_log "type checking"
npx --no-install tsc -p tsconfig.json --noEmit
# The console is a browser bundle (DOM, JSX): its own tsconfig.
npx --no-install tsc -p apps/console/tsconfig.json --noEmit
_log "linting"
# @nx/enforce-module-boundaries reads the cached Nx project graph and silently skips itself
# without one (a fresh clone): compute it first, lint, then prove the rule still bites.
npx --no-install nx show projects >/dev/null
npx --no-install eslint . --max-warnings=0
node tools/check-boundaries.mjs
_log "checking formatting"
npx --no-install prettier --check . --log-level=warn

_log "checking deployment manifests"
ensure_docker_compose
docker-compose -f docker-compose.yml config -q
docker-compose -f docker-compose.yml -f docker-compose.gpu.yml config -q
node tools/validate-k8s.mjs

# Services already running (a developer's earlier run) are reused and left running.
start_test_services

ensure_chromium_installed

# Every test database is a copy of this migrated template.
DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/maas_template" node libs/db/dist/migrate.cli.js

export TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
export TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
_log "running the test suite"
status=0
report() { echo "--reporter=default --reporter=json --outputFile.json=$DATA_DIR/vitest-report$1.json"; }
rm -f "$DATA_DIR"/vitest-report*.json
if [ "$#" -gt 0 ]; then
  npx --no-install vitest run $(report '') "$@" || status=$?
else
  npx --no-install vitest run $(report '') --project unit --project integration --project e2e || status=$?
  # Latency-measuring suites, alone on the machine (see vitest.config.ts).
  _log "running the suites that measure latency, alone"
  npx --no-install vitest run $(report '-alone') --project e2e-alone --no-file-parallelism || status=$?
fi
# One plain closing line for CI: "N passed, N failed".
node -e '
  const reports = process.argv.slice(1).map((file) => require(file));
  const sum = (key) => reports.reduce((n, r) => n + r[key], 0);
  console.log(`${sum("numPassedTests")} passed, ${sum("numFailedTests")} failed, ${sum("numPendingTests") + sum("numTodoTests")} skipped`);
' "$PWD"/"$DATA_DIR"/vitest-report*.json || true
exit "$status"
