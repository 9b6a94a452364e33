"""Notifications while away: per-member settings and quiet windows, push subscriptions,
the push outbox (cosession/notify/models.py).

Revision ID: 0011
Revises: 0008
Created: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notify_members",
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("muted", sa.Boolean(), nullable=False),
        sa.Column("window_until", sa.BigInteger(), nullable=False),
        sa.Column("pending", sa.String(length=1024), nullable=False),
        sa.Column("pending_count", sa.Integer(), nullable=False),
        sa.Column("pending_pos", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "member"),
    )
    op.create_index("ix_notify_members_due", "notify_members", ["pending_count", "window_until"])
    op.create_table(
        "push_subscriptions",
        sa.Column("id", _ROW_ID, autoincrement=True, nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("endpoint", sa.String(length=2048), nullable=False),
        sa.Column("p256dh", sa.String(length=128), nullable=False),
        sa.Column("auth", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=512), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("room_id", "member", "endpoint", name="uq_push_subscriptions_member_endpoint"),
    )
    op.create_index("ix_push_subscriptions_member", "push_subscriptions", ["room_id", "member"])
    op.create_table(
        "push_outbox",
        sa.Column("id", _ROW_ID, autoincrement=True, nullable=False),
        sa.Column("subscription_id", sa.BigInteger(), nullable=False),
        sa.Column("msg_id", sa.String(length=64), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=False),
        sa.Column("last_code", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subscription_id", "msg_id", name="uq_push_outbox_subscription_msg"),
    )
    op.create_index("ix_push_outbox_due", "push_outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_push_outbox_due", table_name="push_outbox")
    op.drop_table("push_outbox")
    op.drop_index("ix_push_subscriptions_member", table_name="push_subscriptions")
    op.drop_table("push_subscriptions")
    op.drop_index("ix_notify_members_due", table_name="notify_members")
    op.drop_table("notify_members")
