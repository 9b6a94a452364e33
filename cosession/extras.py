"""Optional parts of cosession and the pip extra that installs each.

The embedded server (SQLite, in-memory hub) needs none of them. ``require`` turns a
missing library into one sentence naming the extra, before anything imports it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable


class MissingExtra(RuntimeError):
    """A feature was asked for whose libraries are not installed."""


def missing_modules(modules: Iterable[str]) -> list[str]:
    missing = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def require(modules: Iterable[str], extra: str, what: str) -> None:
    """Raise ``MissingExtra`` unless every module of ``modules`` can be imported."""
    missing = missing_modules(modules)
    if missing:
        raise MissingExtra(f"{what} needs {', '.join(missing)} (not installed): pip install 'cosession[{extra}]'")


def require_cluster() -> None:
    require(("redis",), "cluster", "cluster mode (--redis-url)")


def require_postgres() -> None:
    require(("asyncpg",), "postgres", "a PostgreSQL database (the asyncpg driver; also in cosession[cluster])")


def push_available() -> bool:
    """Web Push can be sent (the ``push`` extra: pywebpush, py_vapid, cryptography)."""
    return not missing_modules(("pywebpush", "py_vapid", "cryptography"))
