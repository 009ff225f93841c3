#!/usr/bin/env bash
# Brings the whole platform up locally from a fresh clone: npm packages, PostgreSQL and Redis
# (docker compose when a Docker engine answers, else local servers from the OS packages under
# .data/), migrations, then gateway (:3000), trainer (:3002) and one inference worker (:8080),
# a demo tenant, API key and model. Prints the key and a curl to paste. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/services.sh
source scripts/lib/bootstrap.sh

DATA_DIR=".data"
PG_PORT=54320
REDIS_PORT=63790
GATEWAY_PORT="${PORT:-3000}"
mkdir -p "$DATA_DIR/logs" "$DATA_DIR/storage"

ensure_node_modules
generate_and_build

pids=()
use_docker=false
cleanup() {
  trap - INT TERM EXIT
  _log "stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if $use_docker; then
    docker compose -f docker-compose.yml -f docker-compose.dev-services.yml stop postgres redis >/dev/null || true
  else
    stop_redis "$REDIS_PORT" || true
    stop_postgres "$DATA_DIR/pg" || true
  fi
}
trap cleanup INT TERM EXIT

if docker_available; then
  use_docker=true
  _log "starting postgres and redis with docker compose"
  docker compose -f docker-compose.yml -f docker-compose.dev-services.yml up -d --wait postgres redis
  export DATABASE_URL="postgresql://maas:maas-dev-password@127.0.0.1:$PG_PORT/maas"
else
  start_postgres "$DATA_DIR/pg" "$PG_PORT"
  start_redis "$DATA_DIR/redis" "$REDIS_PORT"
  export DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/maas"
fi
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export STORAGE_DRIVER=fs STORAGE_FS_ROOT="$PWD/$DATA_DIR/storage"

_log "applying migrations"
node libs/db/dist/migrate.cli.js

# A stable local admin and JWT secret, made once and kept in .data/ (git-ignored).
if [ ! -f "$DATA_DIR/dev.env" ]; then
  {
    echo "MAAS_ADMIN_EMAIL=admin@maas.local"
    echo "MAAS_ADMIN_PASSWORD=$(node -e "console.log(require('crypto').randomBytes(12).toString('base64url'))")"
    echo "JWT_SECRET=$(node -e "console.log(require('crypto').randomBytes(32).toString('hex'))")"
  } >"$DATA_DIR/dev.env"
fi
set -a
source "$DATA_DIR/dev.env"
set +a

# start_app NAME PORT [READY_PORT]: READY_PORT answers /readyz (a worker's ops port).
start_app() {
  local name="$1" port="$2" ready_port="${3:-$2}"
  PORT="$port" node "apps/$name/dist/main.js" >>"$DATA_DIR/logs/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 150); do
    if curl -fsS "http://127.0.0.1:$ready_port/readyz" >/dev/null 2>&1; then
      _log "$name ready on :$port (log: $DATA_DIR/logs/$name.log)"
      return 0
    fi
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then
      _log "$name exited; last log lines:"
      tail -n 30 "$DATA_DIR/logs/$name.log" >&2
      return 1
    fi
    sleep 0.2
  done
  _log "$name did not become ready"
  return 1
}

# Serves the gateway on 8080 (HTTP) and 8081 (link), both checked against WORKER_SECRET (the
# development default here, the same in both apps); /metrics, /healthz, /readyz on 8082.
start_app inference 8080 8082
start_app trainer 3002
INFERENCE_WORKER_URL="http://127.0.0.1:8080" start_app gateway "$GATEWAY_PORT"

node tools/seed-demo.mjs "http://127.0.0.1:$GATEWAY_PORT"
_log "web console: http://127.0.0.1:$GATEWAY_PORT/console/ (sign in as the admin above, or with the API key)"
_log "running; Ctrl-C stops everything"
wait -n "${pids[@]}" || true
