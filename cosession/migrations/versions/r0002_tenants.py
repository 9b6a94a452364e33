"""Tenants: retailers with a secret API key (hashed), a publishable key and allowed origins.

Revision ID: 0002
Revises: 0001
Created: 2026-11-23

``rooms.tenant`` (from 0001) names the tenant a room was created with.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("origins", sa.String(length=8192), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("publishable_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tenants_secret_hash", "tenants", ["secret_hash"], unique=True)
    op.create_index("ix_tenants_publishable_key", "tenants", ["publishable_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_tenants_publishable_key", table_name="tenants")
    op.drop_index("ix_tenants_secret_hash", table_name="tenants")
    op.drop_table("tenants")
