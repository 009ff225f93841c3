#!/usr/bin/env bash
# Saves a screenshot of each main page of the web console into docs/console/ (committed, linked
# from the README): runs the console's browser test (e2e/console.spec.ts) against a real
# platform with CONSOLE_SCREENSHOTS set. Uses the test services' ports, like test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/services.sh
source scripts/lib/bootstrap.sh

PG_PORT="${MAAS_TEST_PG_PORT:-55432}"
REDIS_PORT="${MAAS_TEST_REDIS_PORT:-56379}"
DATA_DIR=".test-data"

ensure_node_modules
generate_and_build
ensure_chromium_installed

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
DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/maas_template" node libs/db/dist/migrate.cli.js

_log "taking screenshots into docs/console/"
TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres" \
  TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
  CONSOLE_SCREENSHOTS="$PWD/docs/console" \
  npx --no-install vitest run e2e/console.spec.ts
ls docs/console/*.png
