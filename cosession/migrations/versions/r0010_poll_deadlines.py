"""Poll deadlines: one row per open poll, so a deadline fires with no client connected.

Revision ID: 0010
Revises: 0008
Created: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "poll_deadlines",
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("poll", sa.BigInteger(), nullable=False),
        sa.Column("deadline", sa.BigInteger(), nullable=False),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "poll"),
    )
    op.create_index("ix_poll_deadlines_deadline", "poll_deadlines", ["deadline"])


def downgrade() -> None:
    op.drop_index("ix_poll_deadlines_deadline", table_name="poll_deadlines")
    op.drop_table("poll_deadlines")
