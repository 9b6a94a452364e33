"""Room focus: products each room looked at (no member ids), for anonymous trends.

Revision ID: 0007
Revises: 0006
Created: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "room_focus",
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("product", sa.String(length=128), nullable=False),
        sa.Column("first_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "product"),
    )


def downgrade() -> None:
    op.drop_table("room_focus")
