"""Notification tables (Alembic revision ``r0011_notify.py``).

* ``notify_members``: one row per (room, member) that was ever notified or changed a
  setting: ``muted``, the end of its quiet window (``window_until``, ms) and the reasons
  that arrived inside it (``pending``: JSON ``{reason: count}``, ``pending_pos``: the seq of
  the last of them). The digest sweep sends rows whose window ended with something pending.
* ``push_subscriptions``: a member's browser push subscriptions in a room (RFC 8030
  endpoint and RFC 8291 keys), and the room page URL the notification opens.
* ``push_outbox``: one row per push message and subscription, written in the transaction
  that decided the notification; the push worker leases, sends and settles them like the
  webhook outbox.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

ROW_ID = BigInteger().with_variant(Integer(), "sqlite")


class NotifyMemberRow(SQLModel, table=True):
    __tablename__ = "notify_members"
    __table_args__ = (Index("ix_notify_members_due", "pending_count", "window_until"),)

    room_id: str = Field(primary_key=True, max_length=64)
    member: str = Field(primary_key=True, max_length=64)
    muted: bool = False
    window_until: int = Field(default=0, sa_type=BigInteger)  # ms; 0: no window open
    pending: str = Field(default="{}", max_length=1024)  # JSON {reason: count} inside the window
    pending_count: int = 0
    pending_pos: int = Field(default=0, sa_type=BigInteger)  # seq of the last pending cause
    updated_at: int = Field(sa_type=BigInteger)  # ms


class PushSubscriptionRow(SQLModel, table=True):
    __tablename__ = "push_subscriptions"
    __table_args__ = (
        UniqueConstraint("room_id", "member", "endpoint", name="uq_push_subscriptions_member_endpoint"),
        Index("ix_push_subscriptions_member", "room_id", "member"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ROW_ID)
    room_id: str = Field(max_length=64)
    member: str = Field(max_length=64)
    endpoint: str = Field(max_length=2048)
    p256dh: str = Field(max_length=128)  # base64url uncompressed P-256 point (65 bytes)
    auth: str = Field(max_length=64)  # base64url 16-byte auth secret
    url: str = Field(default="", max_length=512)  # the room page path the notification opens
    created_at: int = Field(sa_type=BigInteger)  # ms


class PushOutboxRow(SQLModel, table=True):
    __tablename__ = "push_outbox"
    __table_args__ = (
        UniqueConstraint("subscription_id", "msg_id", name="uq_push_outbox_subscription_msg"),
        Index("ix_push_outbox_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ROW_ID)
    subscription_id: int = Field(sa_type=BigInteger)
    msg_id: str = Field(max_length=64)
    room_id: str = Field(max_length=64)
    body: bytes  # the JSON payload before encryption (counts only, no text)
    status: str = Field(default="pending", max_length=16)  # pending | delivered | dead | gone
    attempts: int = 0
    next_attempt_at: int = Field(sa_type=BigInteger)  # ms
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: int = Field(default=0, sa_type=BigInteger)  # ms
    last_code: int | None = None
    created_at: int = Field(sa_type=BigInteger)  # ms
