"""The product Q&A tables (SPEC section 19), created by
``cosession/migrations/versions/r0012_product_qa.py``.

* ``qa_buyers``: verified buyers a tenant issued tokens to (only the token's SHA-256 is kept).
* ``qa_threads``: one public thread per (tenant, product id).
* ``qa_questions``: a ``qa.ask`` posted from a room (``room_id``, ``seq`` and ``member``
  never leave the server: the public read shows only the text and time).
* ``qa_answers``: a buyer's answer; ``hidden_at`` set when the retailer hides it.
* ``qa_deliveries``: the outbox of an answer into each room that asked on its thread
  (``delivered_at`` once the room's ``qa.answer`` is durable, ``hide_sent_at`` once its
  ``qa.hide`` is).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class QaBuyerRow(SQLModel, table=True):
    __tablename__ = "qa_buyers"

    id: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(index=True, max_length=64)
    name: str = Field(max_length=100)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    products: str | None = Field(default=None, max_length=20000)  # JSON list of product ids; None: any
    created_at: int = Field(sa_type=BigInteger)  # ms
    revoked_at: int | None = Field(default=None, sa_type=BigInteger)  # ms


class QaThreadRow(SQLModel, table=True):
    __tablename__ = "qa_threads"
    __table_args__ = (UniqueConstraint("tenant_id", "product_id", name="uq_qa_threads_tenant_product"),)

    id: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(max_length=64)
    product_id: str = Field(max_length=128)
    created_at: int = Field(sa_type=BigInteger)  # ms


class QaQuestionRow(SQLModel, table=True):
    __tablename__ = "qa_questions"
    __table_args__ = (Index("ix_qa_questions_thread", "thread_id", "ts"),)

    room_id: str = Field(primary_key=True, max_length=64)
    seq: int = Field(primary_key=True, sa_type=BigInteger)
    id: str = Field(unique=True, index=True, max_length=64)
    thread_id: str = Field(max_length=64)
    member: str = Field(max_length=64)
    text: str = Field(max_length=2000)
    ts: int = Field(sa_type=BigInteger)  # ms


class QaAnswerRow(SQLModel, table=True):
    __tablename__ = "qa_answers"
    __table_args__ = (Index("ix_qa_answers_thread", "thread_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=64)
    thread_id: str = Field(max_length=64)
    buyer_id: str = Field(index=True, max_length=64)
    name: str = Field(max_length=100)
    text: str = Field(max_length=2000)
    question_id: str | None = Field(default=None, max_length=64)
    created_at: int = Field(sa_type=BigInteger)  # ms
    hidden_at: int | None = Field(default=None, sa_type=BigInteger)  # ms


class QaDeliveryRow(SQLModel, table=True):
    __tablename__ = "qa_deliveries"

    answer_id: str = Field(primary_key=True, max_length=64)
    room_id: str = Field(primary_key=True, max_length=64)
    created_at: int = Field(sa_type=BigInteger)  # ms
    delivered_at: int | None = Field(default=None, sa_type=BigInteger, index=True)  # ms
    hide_sent_at: int | None = Field(default=None, sa_type=BigInteger)  # ms
