"""The ``tenants`` table.

A tenant has a secret API key (``sk_…``, server to server; only its SHA-256 is stored, the
key itself is shown once) and a publishable key (``pk_…``, embedded in web pages, so
stored as is) that works only from the tenant's allowed origins.

The table is created by the Alembic revision ``cosession/migrations/versions/r0002_tenants.py``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel


class TenantRow(SQLModel, table=True):
    __tablename__ = "tenants"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    origins: str = Field(default="[]", max_length=8192)  # JSON list of normalised origins
    secret_hash: str = Field(max_length=64, unique=True, index=True)  # sha256 hex of the sk_ key
    publishable_key: str = Field(max_length=64, unique=True, index=True)
    created_at: int = Field(sa_type=BigInteger)  # ms
