#!/usr/bin/env bash
# Create .venv and install cosession with its dev tools. Needs only Python 3.11+ (and pip).
# Sourced by scripts/serve and scripts/test; safe to run repeatedly.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1
PY="${PYTHON:-python3}"
if ! command -v uv >/dev/null 2>&1; then
  "$PY" -m pip install --quiet --disable-pip-version-check uv
fi
UV="$(command -v uv || echo "$PY -m uv")"
if [ ! -x .venv/bin/python ]; then
  $UV venv --quiet --python "$PY" .venv
fi
hash="$(cat pyproject.toml requirements.txt 2>/dev/null | sha1sum | cut -c1-12)"
stamp=".venv/.installed-$hash-${1:-dev}"
# a dev install holds everything the runtime needs: `scripts/serve` after `scripts/test` installs nothing
if [ ! -f "$stamp" ] && ! { [ "${1:-dev}" = "runtime" ] && [ -f ".venv/.installed-$hash-dev" ]; }; then
  if [ "${1:-dev}" = "dev" ]; then
    $UV pip install --quiet --python .venv/bin/python -c requirements.txt -e '.[dev]'
  else
    $UV pip install --quiet --python .venv/bin/python -c requirements.txt -e .
  fi
  rm -f .venv/.installed-* && touch "$stamp"
fi
