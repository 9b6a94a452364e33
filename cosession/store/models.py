"""SQLModel tables: rooms, the per-room event log, snapshots and invites.

Events and snapshots are stored as MessagePack blobs of the protocol structs, so the log
is exactly what went on the wire; the columns beside them are for lookups.

Times are milliseconds since the Unix epoch and ``seq`` follows Redis's 64-bit offsets, so
both are ``BIGINT``: PostgreSQL's ``INTEGER`` is 32-bit (SQLite's is 64-bit either way).
The schema is created and changed only by the Alembic revisions in
``cosession/migrations/versions``; ``tests/integration/test_store_conformance.py`` checks
that these classes and the migrated schema agree.
"""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel


class RoomRow(SQLModel, table=True):
    __tablename__ = "rooms"

    id: str = Field(primary_key=True, max_length=64)
    epoch: str = Field(max_length=64)
    created_at: int = Field(sa_type=BigInteger)  # ms
    tenant: str | None = Field(default=None, max_length=64)


class EventRow(SQLModel, table=True):
    __tablename__ = "events"

    room_id: str = Field(primary_key=True, max_length=64)
    seq: int = Field(primary_key=True, sa_type=BigInteger)
    ts: int = Field(sa_type=BigInteger)  # ms
    member: str = Field(max_length=64)
    ref: str | None = Field(default=None, max_length=64)
    body: bytes  # msgpack of protocol.messages.Event


class SnapshotRow(SQLModel, table=True):
    __tablename__ = "snapshots"

    room_id: str = Field(primary_key=True, max_length=64)
    seq: int = Field(sa_type=BigInteger)
    state: bytes  # msgpack of protocol.messages.RoomState


class InviteRow(SQLModel, table=True):
    __tablename__ = "invites"

    code: str = Field(primary_key=True, max_length=64)
    room_id: str = Field(index=True, max_length=64)
    role: str = Field(max_length=16)
    created_by: str = Field(max_length=64)
    created_at: int = Field(sa_type=BigInteger)  # ms
    expires_at: int | None = Field(default=None, sa_type=BigInteger)  # ms
    max_uses: int | None = None
    uses: int = 0
