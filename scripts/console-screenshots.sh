#!/usr/bin/env bash
# Saves a screenshot of each main page of the web console into docs/console/ (committed, linked
# from the README): runs the console's browser test (e2e/console.spec.ts) against a real
# platform with CONSOLE_SCREENSHOTS set. Uses the test services' ports, like test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/test-services.sh

ensure_node_modules
generate_and_build
ensure_chromium_installed

start_test_services
DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/maas_template" node libs/db/dist/migrate.cli.js

_log "taking screenshots into docs/console/"
TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres" \
  TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
  CONSOLE_SCREENSHOTS="$PWD/docs/console" \
  npx --no-install vitest run e2e/console.spec.ts
ls docs/console/*.png
