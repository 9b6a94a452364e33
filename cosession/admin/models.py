"""Tables of the admin API: which rooms were closed (and when), and each tenant's
retention policy.

Created by the Alembic revision ``cosession/migrations/versions/r0005_admin.py``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel


class RoomClosureRow(SQLModel, table=True):
    """A room closed by ``room.close`` (admin API or retention). Written after the event
    is committed; the insert-if-absent keeps the first closing time when nodes race."""

    __tablename__ = "room_closures"

    room_id: str = Field(primary_key=True, max_length=64)
    closed_at: int = Field(sa_type=BigInteger, index=True)  # ms
    reason: str = Field(default="", max_length=200)


class RetentionRow(SQLModel, table=True):
    """A tenant's retention policy: rooms idle ``close_after`` ms are closed, and closed
    rooms are purged ``purge_after`` ms after closing."""

    __tablename__ = "tenant_retention"

    tenant: str = Field(primary_key=True, max_length=64)
    close_after: int = Field(sa_type=BigInteger)  # ms
    purge_after: int = Field(sa_type=BigInteger)  # ms
