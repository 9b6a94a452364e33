#!/usr/bin/env bash
# Build the browser bundles (clients/js/dist: widget.js, room.js, console.js) that the server serves.
# Needs Node.js 20+ and npm; installs clients/js's dev dependencies from package-lock.json
# (npm ci) only when the lock file changed. Nothing built is committed.
#   scripts/build-js.sh           install if needed, then build
#   scripts/build-js.sh --test    also run the vitest suite
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/clients/js"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "build-js: Node.js 20+ and npm are needed (apt-get install nodejs npm, or see README)" >&2
  exit 1
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
  echo "build-js: Node.js $(node --version) is too old; 20 or newer is needed" >&2
  exit 1
fi
stamp="node_modules/.cosession-$(sha1sum package-lock.json | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  # npm ci; some npm 11 releases reject their own lock file when optional platform packages
  # (rollup's, esbuild's) are left out of it: then install the locked versions without
  # rewriting the lock file.
  if ! npm ci --no-audit --no-fund --loglevel=error 2>/dev/null; then
    npm install --no-save --no-audit --no-fund --loglevel=error
  fi
  touch "$stamp"
fi
npm run --silent build
if [ "${1:-}" = "--test" ]; then
  npm test --silent
fi
