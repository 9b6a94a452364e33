"""Webhook tables: endpoints, the outbox (one row per message and endpoint) and attempts.

Created by the Alembic revision ``cosession/migrations/versions/r0004_webhooks.py``.

* ``webhook_endpoints``: a tenant's receiver URL, its signing secret (``whsec_…``, kept as
  is because every delivery is signed with it), the event types it wants (JSON list,
  empty: all) and whether it is enabled.
* ``webhook_outbox``: written in the same transaction as the room event that causes it
  (``cosession/webhooks/outbox.py``); unique on ``(endpoint_id, msg_id)`` so a duplicate
  commit never enqueues twice. ``pos`` orders a room's messages (the event's seq);
  ``lease_owner``/``lease_until`` say which node is delivering it right now.
* ``webhook_attempts``: the delivery log, one row per HTTP attempt.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

# 64-bit ids that autoincrement on SQLite too (only INTEGER PRIMARY KEY is its rowid)
ROW_ID = BigInteger().with_variant(Integer(), "sqlite")


class WebhookEndpointRow(SQLModel, table=True):
    __tablename__ = "webhook_endpoints"

    id: str = Field(primary_key=True, max_length=64)
    tenant: str = Field(index=True, max_length=64)
    url: str = Field(max_length=2048)
    secret: str = Field(max_length=128)
    event_types: str = Field(default="[]", max_length=4096)  # JSON list; empty: every type
    description: str = Field(default="", max_length=500)
    enabled: bool = True
    created_at: int = Field(sa_type=BigInteger)  # ms


class WebhookOutboxRow(SQLModel, table=True):
    __tablename__ = "webhook_outbox"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "msg_id", name="uq_webhook_outbox_endpoint_msg"),
        Index("ix_webhook_outbox_due", "status", "next_attempt_at"),
        Index("ix_webhook_outbox_room", "endpoint_id", "room_id", "status", "pos"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ROW_ID)
    endpoint_id: str = Field(max_length=64)
    msg_id: str = Field(max_length=64)
    tenant: str = Field(max_length=64)
    room_id: str = Field(max_length=64)
    type: str = Field(max_length=64)
    pos: int = Field(sa_type=BigInteger)  # the room event's seq: a room's delivery order
    body: bytes  # the JSON payload, exactly as sent
    status: str = Field(default="pending", max_length=16)  # pending | delivered | dead
    attempts: int = 0
    next_attempt_at: int = Field(sa_type=BigInteger)  # ms
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: int = Field(default=0, sa_type=BigInteger)  # ms
    last_code: int | None = None
    created_at: int = Field(sa_type=BigInteger)  # ms
    delivered_at: int | None = Field(default=None, sa_type=BigInteger)  # ms


class WebhookAttemptRow(SQLModel, table=True):
    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_msg", "endpoint_id", "msg_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ROW_ID)
    endpoint_id: str = Field(max_length=64)
    msg_id: str = Field(max_length=64)
    attempt: int
    at: int = Field(sa_type=BigInteger)  # ms
    ok: bool
    code: int | None = None  # HTTP status, None when no response came
    error: str = Field(default="", max_length=300)
    duration_ms: int = 0
    node: str = Field(default="", max_length=128)
