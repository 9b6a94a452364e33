"""Admin API: closed rooms and per-tenant retention policies.

Revision ID: 0005
Revises: 0004
Created: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "room_closures",
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("closed_at", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("room_id"),
    )
    op.create_index("ix_room_closures_closed_at", "room_closures", ["closed_at"], unique=False)
    op.create_table(
        "tenant_retention",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("close_after", sa.BigInteger(), nullable=False),
        sa.Column("purge_after", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant"),
    )


def downgrade() -> None:
    op.drop_table("tenant_retention")
    op.drop_index("ix_room_closures_closed_at", table_name="room_closures")
    op.drop_table("room_closures")
