# shellcheck shell=bash
# What scripts/test.sh and scripts/console-screenshots.sh share: the test services' ports
# (never the quick start's; MAAS_TEST_PG_PORT and MAAS_TEST_REDIS_PORT move them) and their
# data folder, and starting them. Sourced with the repository root as the working directory.
source scripts/lib/services.sh
source scripts/lib/bootstrap.sh

PG_PORT="${MAAS_TEST_PG_PORT:-55432}"
REDIS_PORT="${MAAS_TEST_REDIS_PORT:-56379}"
DATA_DIR=".test-data"

# start_test_services
# PostgreSQL and Redis on PG_PORT and REDIS_PORT. Instances already answering there (a
# developer's earlier run) are reused and left running; the ones started here (under
# DATA_DIR) stop when the calling script exits: this sets its EXIT trap.
start_test_services() {
  started_pg=false started_redis=false
  trap _stop_test_services EXIT
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
}

_stop_test_services() {
  if $started_redis; then stop_redis "$REDIS_PORT" || true; fi
  if $started_pg; then stop_postgres "$DATA_DIR/pg" || true; fi
}
