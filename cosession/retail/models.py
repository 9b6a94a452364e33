"""The ``tenant_catalogs`` table: a tenant's catalog endpoint for cart revalidation.

Created by ``cosession/migrations/versions/r0006_tenant_catalogs.py``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel


class TenantCatalogRow(SQLModel, table=True):
    __tablename__ = "tenant_catalogs"

    tenant_id: str = Field(primary_key=True, max_length=64)
    url: str = Field(max_length=2048)
    updated_at: int = Field(sa_type=BigInteger)  # ms
