"""Reading and writing tenants' catalog endpoints (through the tenant store's engine).

Reads are cached for ``ttl`` seconds per tenant, so a URL set on one node (REST or CLI)
reaches every node within that time without a query per revalidation.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cosession.retail.models import TenantCatalogRow
from cosession.tenants.store import TenantStore

CATALOGS: sa.Table = TenantCatalogRow.__table__  # type: ignore[attr-defined]


class CatalogUrlError(ValueError):
    pass


def check_catalog_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2048 or "\x00" in url:
        raise CatalogUrlError("the catalog URL must be an absolute http(s) URL of at most 2048 characters")
    return url


class CatalogSettings:
    def __init__(self, tenants: TenantStore, ttl: float = 10.0) -> None:
        self._tenants = tenants
        self._ttl = ttl
        self._cache: dict[str, tuple[float, str | None]] = {}

    async def get(self, tenant_id: str, *, fresh: bool = False) -> str | None:
        cached = self._cache.get(tenant_id)
        if cached is not None and not fresh and time.monotonic() - cached[0] < self._ttl:
            return cached[1]

        def read(conn: Connection) -> str | None:
            row = conn.execute(sa.select(CATALOGS.c.url).where(CATALOGS.c.tenant_id == tenant_id)).first()
            return None if row is None else str(row.url)

        url = await self._tenants._run(read)
        self._cache[tenant_id] = (time.monotonic(), url)
        return url

    async def set(self, tenant_id: str, url: str | None) -> None:
        if url is not None:
            check_catalog_url(url)

        def write(conn: Connection) -> None:
            conn.execute(sa.delete(CATALOGS).where(CATALOGS.c.tenant_id == tenant_id))
            if url is not None:
                conn.execute(
                    sa.insert(CATALOGS).values(tenant_id=tenant_id, url=url, updated_at=int(time.time() * 1000))
                )

        await self._tenants._run(write, write=True)
        self._cache[tenant_id] = (time.monotonic(), url)
