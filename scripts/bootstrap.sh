#!/usr/bin/env bash
# Create .venv and install cosession. Needs only Python 3.11+ (and pip).
# Usage: bootstrap.sh [dev|runtime|cluster|postgres|loadtest|calls]  (default dev: everything the
# tests need; runtime: the embedded server only; the others: that pip extra).
# Run by scripts/serve, scripts/test, scripts/cluster-demo and .ci/run; safe to run repeatedly.
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
profile="${1:-dev}"
case "$profile" in
  dev) spec='.[dev]' ;;
  runtime) spec='.' ;;
  cluster | postgres | loadtest | calls) spec=".[$profile]" ;;
  *) echo "bootstrap.sh: unknown profile '$profile' (dev, runtime, cluster, postgres, loadtest, calls)" >&2; exit 2 ;;
esac
hash="$(cat pyproject.toml requirements.txt 2>/dev/null | sha1sum | cut -c1-12)"
stamp=".venv/.installed-$hash-$profile"
if [ ! -f "$stamp" ] && [ ! -f ".venv/.installed-$hash-dev" ]; then  # dev has every extra
  $UV pip install --quiet --python .venv/bin/python -c requirements.txt -e "$spec"
  rm -f .venv/.installed-* && touch "$stamp"
fi
