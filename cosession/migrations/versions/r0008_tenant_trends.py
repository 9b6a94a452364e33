"""Tenant trends settings: a tenant's own minimum group size k (never below the server's).

Revision ID: 0008
Revises: 0007
Created: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenant_trends",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("min_group", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant"),
    )


def downgrade() -> None:
    op.drop_table("tenant_trends")
