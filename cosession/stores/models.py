"""The ``stores`` table: a tenant's shops and their departments.

Created by ``cosession/migrations/versions/r0013_stores.py``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Text
from sqlmodel import Field, SQLModel


class StoreRow(SQLModel, table=True):
    __tablename__ = "stores"

    tenant_id: str = Field(primary_key=True, max_length=64)
    store_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=100)
    departments: str = Field(sa_type=Text)  # a JSON array of names
    created_at: int = Field(sa_type=BigInteger)  # ms
    updated_at: int = Field(sa_type=BigInteger)  # ms
