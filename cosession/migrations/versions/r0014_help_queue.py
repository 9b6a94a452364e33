"""Help queue: associates, help requests and the queue's change log (SPEC section 21).

Revision ID: 0014
Revises: 0008
Created: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "associates",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("stores", sa.String(length=4096), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_associates_tenant", "associates", ["tenant"])
    op.create_table(
        "help_requests",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("where", sa.String(length=16), nullable=False),
        sa.Column("store", sa.String(length=64), nullable=True),
        sa.Column("department", sa.String(length=100), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("context", sa.String(length=16384), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("associate", sa.String(length=64), nullable=True),
        sa.Column("associate_name", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("claimed_at", sa.BigInteger(), nullable=True),
        sa.Column("answered_at", sa.BigInteger(), nullable=True),
        sa.Column("closed_at", sa.BigInteger(), nullable=True),
        sa.Column("escalate_at", sa.BigInteger(), nullable=False),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("room_id", "seq", name="uq_help_requests_room_seq"),
    )
    op.create_index("ix_help_requests_tenant_state", "help_requests", ["tenant", "state"])
    op.create_index("ix_help_requests_due", "help_requests", ["state", "escalate_at"])
    op.create_table(
        "help_changes",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_help_changes_tenant", "help_changes", ["tenant", "id"])


def downgrade() -> None:
    op.drop_table("help_changes")
    op.drop_table("help_requests")
    op.drop_table("associates")
