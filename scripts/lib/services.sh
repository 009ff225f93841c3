# shellcheck shell=bash
# Local PostgreSQL and Redis without Docker, for scripts/dev.sh and scripts/test.sh.
# Source it:  . scripts/lib/services.sh
# Every function is idempotent: starting a running instance or stopping a stopped one is fine.
# Data lives under a git-ignored folder chosen by the caller (.data/ or .test-data/).

# Run a command as root, through sudo when we are not root (CI runs as root).
_services_as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  else
    sudo "$@"
  fi
}

_services_log() {
  echo "[services] $*" >&2
}

# True when a docker engine answers, so callers can prefer docker compose.
docker_available() {
  command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

# Newest /usr/lib/postgresql/<version>/bin that has initdb, printed on stdout.
postgres_bin_dir() {
  local best
  # glob order is lexical (10 < 9): sort on the version number instead
  best="$(for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && echo "$dir"
  done | sort -t/ -k5,5n | tail -n 1)"
  [ -n "$best" ] || return 1
  echo "$best"
}

_services_apt_install() {
  _services_log "installing $* with apt-get"
  _services_as_root apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive _services_as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_postgres_installed() {
  if postgres_bin_dir >/dev/null; then
    return 0
  fi
  _services_apt_install postgresql || return 1
  postgres_bin_dir >/dev/null || {
    _services_log "postgresql installed but no /usr/lib/postgresql/*/bin/initdb found"
    return 1
  }
}

ensure_redis_installed() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return 0
  fi
  _services_apt_install redis-server || return 1
}

# Run a postgres binary as the owner of the data: `postgres` when we are root (initdb and
# postgres refuse root), else ourselves.
_pg_run() {
  if [ "$(id -u)" -eq 0 ]; then
    # runuser keeps the working directory; use / so an unreadable cwd does not matter
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# start_postgres <datadir> <port> [--fast]
# --fast: fsync/synchronous_commit/full_page_writes off; only for throwaway test instances.
start_postgres() {
  local datadir="$1" port="$2" fast="${3:-}"
  if [ -z "$datadir" ] || [ -z "$port" ]; then
    _services_log "usage: start_postgres <datadir> <port> [--fast]"
    return 2
  fi
  ensure_postgres_installed || return 1
  local bin
  bin="$(postgres_bin_dir)" || return 1
  mkdir -p "$datadir"
  datadir="$(cd "$datadir" && pwd)"

  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    chown postgres:postgres "$datadir"
    chmod 700 "$datadir"
    # the postgres user must be able to traverse to the data dir (e.g. under /root or /work)
    local parent="$datadir"
    while parent="$(dirname "$parent")" && [ "$parent" != "/" ]; do
      chmod o+x "$parent" 2>/dev/null || true
    done
  fi

  if [ ! -s "$datadir/PG_VERSION" ]; then
    _services_log "initdb $datadir"
    _pg_run "$bin/initdb" -D "$datadir" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null ||
      _pg_run "$bin/initdb" -D "$datadir" -U postgres --auth=trust --encoding=UTF8 --no-locale >/dev/null ||
      return 1
  fi

  if _pg_run "$bin/pg_ctl" -D "$datadir" status >/dev/null 2>&1; then
    _services_log "postgres already running in $datadir"
    wait_for_postgres "$port"
    return
  fi

  # sockets go into the data dir: /var/run/postgresql may not exist or be writable
  local opts="-c listen_addresses=127.0.0.1 -p $port -k $datadir"
  if [ "$fast" = "--fast" ]; then
    opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
  _services_log "starting postgres on 127.0.0.1:$port ($datadir)"
  _pg_run "$bin/pg_ctl" -D "$datadir" -l "$datadir/postgres.log" -o "$opts" -w -t 60 start >/dev/null || {
    _services_log "postgres failed to start; last log lines:"
    tail -n 20 "$datadir/postgres.log" >&2
    return 1
  }
  wait_for_postgres "$port"
}

# wait_for_postgres <port> [timeout_seconds]
wait_for_postgres() {
  local port="${1:-5432}" timeout="${2:-60}" bin i
  bin="$(postgres_bin_dir)" || return 1
  for ((i = 0; i < timeout * 5; i++)); do
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
      return 0
    fi
    sleep 0.2
  done
  _services_log "postgres on 127.0.0.1:$port not ready after ${timeout}s"
  return 1
}

# stop_postgres <datadir>
stop_postgres() {
  local datadir="$1" bin
  [ -n "$datadir" ] || {
    _services_log "usage: stop_postgres <datadir>"
    return 2
  }
  [ -s "$datadir/PG_VERSION" ] || return 0
  datadir="$(cd "$datadir" && pwd)"
  bin="$(postgres_bin_dir)" || return 0
  if _pg_run "$bin/pg_ctl" -D "$datadir" status >/dev/null 2>&1; then
    _services_log "stopping postgres ($datadir)"
    _pg_run "$bin/pg_ctl" -D "$datadir" -m fast -w stop >/dev/null
  fi
}

# start_redis <datadir> <port>
start_redis() {
  local datadir="$1" port="$2"
  if [ -z "$datadir" ] || [ -z "$port" ]; then
    _services_log "usage: start_redis <datadir> <port>"
    return 2
  fi
  ensure_redis_installed || return 1
  mkdir -p "$datadir"
  datadir="$(cd "$datadir" && pwd)"
  if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
    _services_log "redis already running on 127.0.0.1:$port"
    return 0
  fi
  _services_log "starting redis on 127.0.0.1:$port ($datadir)"
  # noeviction: BullMQ and the rate limiter must never lose keys silently; AOF everysec: a
  # restart loses at most the last second of writes (docs/operations.md)
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$datadir" \
    --pidfile "$datadir/redis.pid" --logfile "$datadir/redis.log" \
    --appendonly yes --appendfsync everysec --maxmemory-policy noeviction --save "" >/dev/null || return 1
  wait_for_redis "$port"
}

# wait_for_redis <port> [timeout_seconds]
wait_for_redis() {
  local port="${1:-6379}" timeout="${2:-30}" i
  for ((i = 0; i < timeout * 5; i++)); do
    if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = "PONG" ]; then
      return 0
    fi
    sleep 0.2
  done
  _services_log "redis on 127.0.0.1:$port not ready after ${timeout}s"
  return 1
}

# stop_redis <port>
stop_redis() {
  local port="$1"
  [ -n "$port" ] || {
    _services_log "usage: stop_redis <port>"
    return 2
  }
  if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
    _services_log "stopping redis on 127.0.0.1:$port"
    redis-cli -h 127.0.0.1 -p "$port" shutdown >/dev/null 2>&1 || true
    local i
    for ((i = 0; i < 50; i++)); do
      redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 || return 0
      sleep 0.2
    done
    _services_log "redis on 127.0.0.1:$port did not stop"
    return 1
  fi
}
