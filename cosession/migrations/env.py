"""Alembic environment for cosession: the target schema is every ``cosession/*/models.py``.

Two ways in:

- ``SqlStore.start()`` hands over a connection (``config.attributes["connection"]``)
  that is already inside a transaction; the migrations run in it.
- The ``alembic`` command line (``-c cosession/migrations/alembic.ini -x url=...``):
  an async engine is built from the URL exactly as the server builds it.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from cosession.migrations import target_metadata as all_tables

config = context.config
target_metadata = all_tables()
if config.config_file_name is not None and "connection" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)  # the command line only


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite has no real ALTER TABLE
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("give the database with -x url=sqlite:///FILE or -x url=postgresql://USER@HOST/DB")
    return url


async def _run_with_engine(url: str) -> None:
    from cosession.store.store_sql import create_engine_for

    engine = create_engine_for(url)
    try:
        async with engine.begin() as connection:  # one transaction, as in SqlStore.start()
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def run_offline() -> None:
    from cosession.store.store_sql import driver_url

    context.configure(
        url=driver_url(_url()),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_with_engine(_url()))


if context.is_offline_mode():
    run_offline()
else:
    run_online()
