"""A tenant's own minimum group size *k* for its trends (``tenant_trends``).

The server's ``trends_min_group`` is the floor: a tenant may raise *k* for its own
trends (REST and ``cosession report``), never lower it. ``effective_k`` is what a query
uses when it asks for no larger *k*.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from cosession.tenants.store import engine_of
from cosession.trends.models import TenantTrendsRow

TENANT_TRENDS: sa.Table = TenantTrendsRow.__table__  # type: ignore[attr-defined]
MAX_K = 1_000_000


def _engine(store: object) -> AsyncEngine:
    engine = engine_of(store)
    assert isinstance(engine, AsyncEngine)
    return engine


async def tenant_k(store: object, tenant: str) -> int | None:
    """The tenant's own k, or None when it has not set one."""
    async with _engine(store).connect() as conn:
        value = await conn.scalar(sa.select(TENANT_TRENDS.c.min_group).where(TENANT_TRENDS.c.tenant == tenant))
    return int(value) if value is not None else None


async def set_tenant_k(store: object, tenant: str, k: int | None) -> None:
    """Set (or with None, clear) the tenant's k; the caller checks it against the floor."""
    async with _engine(store).execution_options(cosession_write=True).begin() as conn:
        await conn.execute(TENANT_TRENDS.delete().where(TENANT_TRENDS.c.tenant == tenant))
        if k is not None:
            await conn.execute(TENANT_TRENDS.insert().values(tenant=tenant, min_group=k))


def effective_k(floor: int, own: int | None) -> int:
    """The k a tenant's trends use: its own when set, never below the server's floor."""
    return max(floor, own or 0)
