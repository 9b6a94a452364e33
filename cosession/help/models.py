"""Help queue tables, created by ``cosession/migrations/versions/r0014_help_queue.py``.

* ``associates``: a tenant's store associates (``as_…``), their display name, the stores
  they serve (JSON list, empty: all) and ``revoked_at`` (their ``at_`` tokens stop working).
* ``help_requests``: one row per room help request (unique ``(room_id, seq)``), written in
  the transaction that stores the ``help.request`` event; claims are a conditional UPDATE
  on ``state``. ``context`` is JSON (room name, focus, cart lines and total): no member id.
* ``help_changes``: the queue's change log (``id`` ascending = the SSE event id). Every
  insert runs under one lock (PostgreSQL advisory lock; SQLite's single writer), so ids
  become visible in order and a reader's cursor never skips one.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

ROW_ID = BigInteger().with_variant(Integer(), "sqlite")


class AssociateRow(SQLModel, table=True):
    __tablename__ = "associates"

    id: str = Field(primary_key=True, max_length=64)
    tenant: str = Field(index=True, max_length=64)
    name: str = Field(max_length=100)
    stores: str = Field(default="[]", max_length=4096)  # JSON list of store ids; empty: every store
    created_at: int = Field(sa_type=BigInteger)  # ms
    revoked_at: int | None = Field(default=None, sa_type=BigInteger)  # ms


class HelpRequestRow(SQLModel, table=True):
    __tablename__ = "help_requests"
    __table_args__ = (
        UniqueConstraint("room_id", "seq", name="uq_help_requests_room_seq"),
        Index("ix_help_requests_tenant_state", "tenant", "state"),
        Index("ix_help_requests_due", "state", "escalate_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ROW_ID)
    tenant: str = Field(max_length=64)
    room_id: str = Field(max_length=64)
    seq: int = Field(sa_type=BigInteger)  # the help.request's seq: the request id in the room
    where: str = Field(max_length=16)  # in_store | online
    store: str | None = Field(default=None, max_length=64)
    department: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=500)
    context: str = Field(default="{}", max_length=16384)  # JSON: room_name, focus, cart_lines, cart_total
    state: str = Field(default="open", max_length=16)  # open | claimed | closed
    level: int = 0
    associate: str | None = Field(default=None, max_length=64)
    associate_name: str | None = Field(default=None, max_length=100)
    created_at: int = Field(sa_type=BigInteger)  # ms (the event's ts)
    claimed_at: int | None = Field(default=None, sa_type=BigInteger)
    answered_at: int | None = Field(default=None, sa_type=BigInteger)  # the associate's first chat after the claim
    closed_at: int | None = Field(default=None, sa_type=BigInteger)
    escalate_at: int = Field(sa_type=BigInteger)  # ms: next escalation while open
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: int = Field(default=0, sa_type=BigInteger)  # ms


class HelpChangeRow(SQLModel, table=True):
    __tablename__ = "help_changes"
    __table_args__ = (Index("ix_help_changes_tenant", "tenant", "id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ROW_ID)
    tenant: str = Field(max_length=64)
    request_id: int = Field(sa_type=BigInteger)  # help_requests.id
    kind: str = Field(max_length=16)  # request | update | removed
    at: int = Field(sa_type=BigInteger)  # ms
