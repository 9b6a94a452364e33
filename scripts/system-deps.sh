#!/usr/bin/env bash
# Install the system programs the tests start themselves: redis-server, PostgreSQL (initdb,
# postgres), Chromium and coturn (turnserver, turnutils_uclient), from Debian's packages. Idempotent: does nothing when all three
# are present, and runs `apt-get update` at most once. apt does not start any service here;
# the test fixtures run private instances on random ports.
#   bash scripts/system-deps.sh          # install what is missing
#   bash scripts/system-deps.sh --check  # only report; exit 1 if something is missing
set -euo pipefail

have_postgres() {
  if [ -n "${PG_BIN_DIR:-}" ]; then
    [ -x "$PG_BIN_DIR/initdb" ] && [ -x "$PG_BIN_DIR/postgres" ]
    return
  fi
  compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

have_redis() {
  if [ -n "${REDIS_SERVER_BIN:-}" ]; then
    [ -x "$REDIS_SERVER_BIN" ]
    return
  fi
  command -v redis-server >/dev/null 2>&1
}

have_chromium() {
  command -v chromium >/dev/null 2>&1
}

have_coturn() {
  if [ -n "${TURNSERVER_BIN:-}" ]; then
    [ -x "$TURNSERVER_BIN" ]
    return
  fi
  command -v turnserver >/dev/null 2>&1 && command -v turnutils_uclient >/dev/null 2>&1
}

missing=()
have_redis || missing+=(redis-server)
have_postgres || missing+=(postgresql)
have_chromium || missing+=(chromium)
have_coturn || missing+=(coturn)

if [ "${#missing[@]}" -eq 0 ]; then
  echo "system-deps: redis-server, postgresql, chromium and coturn already installed; nothing to do"
  exit 0
fi

if [ "${1:-}" = "--check" ]; then
  echo "system-deps: missing: ${missing[*]}" >&2
  exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "system-deps: missing ${missing[*]}, and installing needs root (or sudo)" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: missing ${missing[*]}, and this is not a Debian-like system (no apt-get)." >&2
  echo "  Install them yourself, or point REDIS_SERVER_BIN / PG_BIN_DIR at existing builds." >&2
  exit 1
fi

echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system-deps: installed ${missing[*]}"
