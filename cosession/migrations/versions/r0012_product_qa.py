"""Product Q&A: buyers, threads, questions, answers and their deliveries into rooms (SPEC 19).

Revision ID: 0012
Revises: 0008
Created: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "qa_buyers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("products", sa.String(length=20000), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_qa_buyers_tenant_id", "qa_buyers", ["tenant_id"])
    op.create_index("ix_qa_buyers_token_hash", "qa_buyers", ["token_hash"], unique=True)
    op.create_table(
        "qa_threads",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "product_id", name="uq_qa_threads_tenant_product"),
    )
    op.create_table(
        "qa_questions",
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("thread_id", sa.String(length=64), nullable=False),
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "seq"),
    )
    op.create_index("ix_qa_questions_id", "qa_questions", ["id"], unique=True)
    op.create_index("ix_qa_questions_thread", "qa_questions", ["thread_id", "ts"])
    op.create_table(
        "qa_answers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("thread_id", sa.String(length=64), nullable=False),
        sa.Column("buyer_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("hidden_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_qa_answers_buyer_id", "qa_answers", ["buyer_id"])
    op.create_index("ix_qa_answers_thread", "qa_answers", ["thread_id", "created_at"])
    op.create_table(
        "qa_deliveries",
        sa.Column("answer_id", sa.String(length=64), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("delivered_at", sa.BigInteger(), nullable=True),
        sa.Column("hide_sent_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("answer_id", "room_id"),
    )
    op.create_index("ix_qa_deliveries_delivered_at", "qa_deliveries", ["delivered_at"])


def downgrade() -> None:
    op.drop_index("ix_qa_deliveries_delivered_at", table_name="qa_deliveries")
    op.drop_table("qa_deliveries")
    op.drop_index("ix_qa_answers_thread", table_name="qa_answers")
    op.drop_index("ix_qa_answers_buyer_id", table_name="qa_answers")
    op.drop_table("qa_answers")
    op.drop_index("ix_qa_questions_thread", table_name="qa_questions")
    op.drop_index("ix_qa_questions_id", table_name="qa_questions")
    op.drop_table("qa_questions")
    op.drop_table("qa_threads")
    op.drop_index("ix_qa_buyers_token_hash", table_name="qa_buyers")
    op.drop_index("ix_qa_buyers_tenant_id", table_name="qa_buyers")
    op.drop_table("qa_buyers")
