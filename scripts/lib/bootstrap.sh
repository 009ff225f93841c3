#!/usr/bin/env bash
# Shared by dev.sh and test.sh: npm packages, the generated Prisma client and the build.
# Sourced with the repository root as the working directory.

_log() { printf '\033[1m[maas]\033[0m %s\n' "$*" >&2; }

# npm ci when node_modules is missing or older than the lockfile.
ensure_node_modules() {
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    _log "installing npm packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

generate_and_build() {
  _log "generating the Prisma client"
  npx --no-install prisma generate >/dev/null
  # The build also writes the SDK's generated route types (tools/generate-sdk-types.mjs) before
  # anything compiles them; the type check after it reads them.
  _log "building apps and libs"
  node tools/build.mjs
}

# Debian's docker-compose (v1) validates compose files without a Docker engine.
ensure_docker_compose() {
  if ! command -v docker-compose >/dev/null 2>&1; then
    _log "installing docker-compose (apt-get)"
    if [ "$(id -u)" -eq 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
    else
      sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
    fi
  fi
}

# Debian's Chromium, driven by playwright-core in the console's browser tests
# (e2e/console.spec.ts; CHROMIUM_PATH points them at another build).
ensure_chromium_installed() {
  if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then
    return 0
  fi
  if command -v chromium >/dev/null 2>&1; then
    return 0
  fi
  _log "installing chromium (apt-get)"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  command -v chromium >/dev/null 2>&1 || {
    _log "chromium installed but not on PATH"
    return 1
  }
}
