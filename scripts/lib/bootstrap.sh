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
  _log "building apps and libs"
  node tools/build.mjs
}
