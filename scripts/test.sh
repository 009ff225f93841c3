#!/usr/bin/env bash
# Runs the full test suite from a fresh clone: installs what it needs, starts throwaway
# PostgreSQL and Redis instances on their own ports (55432, 56379; they never collide with the
# quick start's), type-checks, lints, builds, and runs every unit, integration and end-to-end
# test against the real services. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/services.sh
source scripts/lib/bootstrap.sh

PG_PORT="${MAAS_TEST_PG_PORT:-55432}"
REDIS_PORT="${MAAS_TEST_REDIS_PORT:-56379}"
DATA_DIR=".test-data"
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
started_pg=false started_redis=false
cleanup() {
  if $started_redis; then stop_redis "$REDIS_PORT" || true; fi
  if $started_pg; then stop_postgres "$DATA_DIR/pg" || true; fi
}
trap cleanup EXIT
ensure_postgres_installed
if ! "$(postgres_bin_dir)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
  start_postgres "$DATA_DIR/pg" "$PG_PORT" --fast
  started_pg=true
fi
ensure_redis_installed
if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  start_redis "$DATA_DIR/redis" "$REDIS_PORT"
  started_redis=true
fi

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
