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
_log "linting"
npx --no-install eslint . --max-warnings=0
_log "checking formatting"
npx --no-install prettier --check . --log-level=warn

cleanup() {
  stop_redis "$REDIS_PORT" || true
  stop_postgres "$DATA_DIR/pg" || true
}
trap cleanup EXIT

start_postgres "$DATA_DIR/pg" "$PG_PORT" --fast
start_redis "$DATA_DIR/redis" "$REDIS_PORT"
redis-cli -p "$REDIS_PORT" flushall >/dev/null

# Every test database is a copy of this migrated template.
DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/maas_template" node libs/db/dist/migrate.cli.js

export TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
export TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
_log "running the test suite"
npx --no-install vitest run "$@"
