"""Reading and writing a tenant's stores (through the tenant store's engine)."""

from __future__ import annotations

import time
from typing import Annotated

import msgspec
import sqlalchemy as sa
from msgspec import Meta
from sqlalchemy.engine import Connection

from cosession.stores.models import StoreRow
from cosession.tenants.store import TenantStore

STORES: sa.Table = StoreRow.__table__  # type: ignore[attr-defined]
STORE_ID = r"^[a-z0-9][a-z0-9_-]{0,63}$"
MAX_STORES_PER_TENANT = 1000
DepartmentName = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")]
StoreName = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")]


class StoreInfo(msgspec.Struct):
    store: str
    name: str
    departments: list[str]
    created_at: int
    updated_at: int


class TooManyStores(Exception):
    pass


def _info(row: sa.Row[tuple[object, ...]]) -> StoreInfo:
    return StoreInfo(
        store=str(row.store_id),
        name=str(row.name),
        departments=msgspec.json.decode(str(row.departments), type=list[str]),
        created_at=int(row.created_at),
        updated_at=int(row.updated_at),
    )


class StoreDirectory:
    def __init__(self, tenants: TenantStore) -> None:
        self._tenants = tenants

    async def get(self, tenant: str, store: str) -> StoreInfo | None:
        def read(conn: Connection) -> StoreInfo | None:
            where = (STORES.c.tenant_id == tenant) & (STORES.c.store_id == store)
            row = conn.execute(sa.select(STORES).where(where)).first()
            return None if row is None else _info(row)

        return await self._tenants._run(read)

    async def all(self, tenant: str) -> list[StoreInfo]:
        def read(conn: Connection) -> list[StoreInfo]:
            rows = conn.execute(sa.select(STORES).where(STORES.c.tenant_id == tenant).order_by(STORES.c.store_id))
            return [_info(r) for r in rows]

        return await self._tenants._run(read)

    async def put(self, tenant: str, store: str, name: str, departments: list[str]) -> tuple[StoreInfo, bool]:
        """Create or replace; returns the store and whether it is new. Raises ``TooManyStores``."""
        now = int(time.time() * 1000)
        encoded = msgspec.json.encode(departments).decode()

        def write(conn: Connection) -> tuple[StoreInfo, bool]:
            where = (STORES.c.tenant_id == tenant) & (STORES.c.store_id == store)
            old = conn.execute(sa.select(STORES.c.created_at).where(where)).first()
            if old is None:
                count = conn.execute(sa.select(sa.func.count()).where(STORES.c.tenant_id == tenant)).scalar_one()
                if count >= MAX_STORES_PER_TENANT:
                    raise TooManyStores(f"a tenant has at most {MAX_STORES_PER_TENANT} stores")
                conn.execute(
                    sa.insert(STORES).values(
                        tenant_id=tenant, store_id=store, name=name, departments=encoded, created_at=now, updated_at=now
                    )
                )
                return StoreInfo(store, name, departments, now, now), True
            conn.execute(sa.update(STORES).where(where).values(name=name, departments=encoded, updated_at=now))
            return StoreInfo(store, name, departments, int(old.created_at), now), False

        return await self._tenants._run(write, write=True)

    async def delete(self, tenant: str, store: str) -> bool:
        def write(conn: Connection) -> bool:
            where = (STORES.c.tenant_id == tenant) & (STORES.c.store_id == store)
            return bool(conn.execute(sa.delete(STORES).where(where)).rowcount)

        return await self._tenants._run(write, write=True)
