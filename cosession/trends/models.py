"""Trends tables: ``room_focus`` (which products a room looked at, with no member in it)
and ``tenant_trends`` (a tenant's own minimum group size *k*).

One row per (room, product) the first time any member of the room focuses the product
(``cosession/trends/focus.py``); trends read it for "viewed together". Who looked is
never stored, so erasure of a member has nothing to remove here; the row goes with
its room.
"""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel


class RoomFocusRow(SQLModel, table=True):
    __tablename__ = "room_focus"

    room_id: str = Field(primary_key=True, max_length=64)
    product: str = Field(primary_key=True, max_length=128)
    first_ts: int = Field(sa_type=BigInteger)  # ms: the first focus in the room


class TenantTrendsRow(SQLModel, table=True):
    """A tenant's minimum group size for its trends, never below the server's floor
    (``trends_min_group``); set through ``PUT /v1/admin/trends``."""

    __tablename__ = "tenant_trends"

    tenant: str = Field(primary_key=True, max_length=64)
    min_group: int
