"""Alembic migrations of the cosession schema, run by ``SqlStore.start()``.

``upgrade_to_head`` runs on a connection the caller already holds inside a transaction
(``AsyncConnection.run_sync`` from the store), so the whole upgrade commits or rolls back
as one, on SQLite and PostgreSQL alike, and no second database driver is needed.

Developers make a new revision with ``alembic -c cosession/migrations/alembic.ini
-x url=sqlite:///dev.db revision --autogenerate --rev-id 0002 -m "what changed"``
(see docs/storage.md).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

MIGRATIONS_DIR = Path(__file__).resolve().parent

# The first revision: the schema the server created with ``create_all`` before migrations
# existed. A database that has those tables but no ``alembic_version`` is stamped with it.
BASELINE = "0001"


def target_metadata() -> MetaData:
    """Every table of the server: the models of each ``cosession/<package>/models.py``.

    Tables are declared next to the code that uses them (``cosession.store.models``,
    ``cosession.tenants.models``, ...); importing those modules registers them on
    ``SQLModel.metadata``, which autogenerate and the model/migration check compare against.
    """
    import cosession

    for module in pkgutil.iter_modules(cosession.__path__):
        name = f"cosession.{module.name}.models"
        if module.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    return SQLModel.metadata


def head_revision() -> str:
    """The newest revision id (what ``upgrade_to_head`` brings a database to)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config built in code (no ini file), pointing at this package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_to_head(connection: Connection) -> None:
    config = alembic_config(connection)
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" not in tables and "rooms" in tables:
        command.stamp(config, BASELINE)
    command.upgrade(config, "head")
