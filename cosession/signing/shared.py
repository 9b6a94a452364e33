"""The token-signing secret when none is configured: generated once, then shared by every
process that uses the same database.

* SQLite file: a file beside the database (``cosession.db.secret``), which every node on
  that file reads. It is created with mode 0600 from the first byte (``O_CREAT | O_EXCL``
  on a temporary name, then linked into place, so a process starting at the same moment
  either finds the whole secret or makes none).
* In-memory SQLite: one per process (nothing outlives the process anyway).
* PostgreSQL (any other database): a row of ``server_secrets`` in that database,
  inserted only if absent, so N cluster nodes started at once all read the same one.
  A ``./.cosession-secret`` left by an older version is offered as that first value, so a
  single node keeps accepting the tokens it issued before.

Whoever can read the database (or the file) can issue tokens; give ``--secret`` (or
``COSESSION_SECRET``) to keep the secret elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from cosession.signing.models import ServerSecretRow

log = structlog.get_logger("cosession.signing")

SECRETS: sa.Table = ServerSecretRow.__table__  # type: ignore[attr-defined]
TOKEN_SECRET = "token"
#: Where versions before the shared secret kept it for non-SQLite databases.
LEGACY_FILE = Path(".cosession-secret")


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def secret_file_for(database_url: str) -> Path | None:
    """The file beside a SQLite database that holds its secret (``None``: not a SQLite file)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    db = Path(str(url.database))
    return db.with_name(db.name + ".secret")


def is_memory_sqlite(database_url: str) -> bool:
    url = make_url(database_url)
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _read(path: Path) -> str:
    secret = path.read_text().strip()
    if not secret:
        raise ValueError(f"{path} is empty: delete it (a new secret is made) or give --secret")
    return secret


def read_or_create_secret_file(path: Path) -> str:
    """The secret in ``path``; a new one, written with mode 0600, if there is no such file."""
    with contextlib.suppress(FileNotFoundError):
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = new_secret()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (secret + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # atomic, and refuses to replace a file another process just made
    except FileExistsError:
        secret = _read(path)
    finally:
        tmp.unlink()
    return secret


def _legacy_secret() -> str | None:
    try:
        return _read(LEGACY_FILE)
    except (OSError, ValueError):
        return None


async def shared_secret(store: object) -> str:
    """The token secret kept in the store's database, inserted first if it has none."""
    from cosession.tenants.store import engine_of

    engine = engine_of(store)
    if not isinstance(engine, AsyncEngine):
        raise TypeError("the shared secret needs the store's async engine")
    offered = _legacy_secret()
    row = {"name": TOKEN_SECRET, "value": offered or new_secret(), "created_at": int(time.time() * 1000)}
    insert: Any = sqlite.insert if engine.dialect.name == "sqlite" else postgresql.insert
    async with engine.begin() as conn:
        await conn.execute(insert(SECRETS).values(**row).on_conflict_do_nothing(index_elements=["name"]))
        value = await conn.scalar(sa.select(SECRETS.c.value).where(SECRETS.c.name == TOKEN_SECRET))
    if not isinstance(value, str) or not value:
        raise RuntimeError("server_secrets holds no token secret")
    if offered is not None:
        if value == offered:
            log.info("token secret: the database keeps the one from ./.cosession-secret (that file is unused now)")
        else:
            log.warning("token secret: ./.cosession-secret differs from the database's and is ignored")
    return value
