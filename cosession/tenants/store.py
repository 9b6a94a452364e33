"""Tenant records in the server's database, through the store's engine.

Queries are written once against a synchronous ``Connection`` and run either on the
store's async engine (``AsyncConnection.run_sync``) or, while the store still holds a
synchronous engine, on a worker thread. Lookups by key hit the database every time
(a tenant created with ``cosession tenant create`` works at once on every node); the
room → tenant map is cached, since a room's tenant never changes once it has a token.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from cosession.auth import new_id
from cosession.tenants.keys import (
    hash_secret,
    new_publishable_key,
    new_secret_key,
    normalize_origin,
)
from cosession.tenants.models import TenantRow

T = TypeVar("T")

TENANTS: sa.Table = TenantRow.__table__  # type: ignore[attr-defined]
# Only the two columns of the rooms table we touch (the store owns that table).
ROOMS = sa.table("rooms", sa.column("id", sa.String), sa.column("tenant", sa.String))

DEMO_TENANT_ID = "t_demo"
_ROOM_CACHE_SIZE = 10_000
_NO_TENANT = ""


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    origins: tuple[str, ...]
    publishable_key: str
    created_at: int


@dataclass(frozen=True)
class CreatedTenant:
    tenant: Tenant
    secret_key: str  # shown once; only its hash is stored


def _tenant(row: Any) -> Tenant:
    return Tenant(
        id=row.id,
        name=row.name,
        origins=tuple(json.loads(row.origins or "[]")),
        publishable_key=row.publishable_key,
        created_at=row.created_at,
    )


def engine_of(store: object) -> Engine | AsyncEngine:
    """The store's SQLAlchemy engine (public ``engine`` attribute, else the private one)."""
    engine = getattr(store, "engine", None)
    if engine is None:
        engine = getattr(store, "_engine", None)
    if not isinstance(engine, Engine | AsyncEngine):
        raise TypeError(f"{type(store).__name__} exposes no SQLAlchemy engine")
    return engine


class TenantStore:
    def __init__(self, source: object) -> None:
        """``source``: an engine, or the store whose engine to use (looked up on use, so
        a store that builds its engine in ``start()`` works too)."""
        self._source = source
        self._room_tenants: OrderedDict[str, str] = OrderedDict()

    async def _run(self, fn: Callable[[Connection], T], *, write: bool = False) -> T:
        source = self._source
        engine = source if isinstance(source, Engine | AsyncEngine) else engine_of(source)
        if isinstance(engine, AsyncEngine):
            if write:
                # cosession_write: on SQLite the store's begin hook makes this BEGIN IMMEDIATE
                async with engine.execution_options(cosession_write=True).begin() as aconn:
                    return await aconn.run_sync(fn)
            async with engine.connect() as aconn:
                return await aconn.run_sync(fn)

        def call() -> T:
            if write:
                with engine.begin() as conn:
                    return fn(conn)
            with engine.connect() as conn:
                return fn(conn)

        return await asyncio.to_thread(call)

    # ---- tenants ---------------------------------------------------------------------

    async def create(self, name: str, origins: Sequence[str], *, tenant_id: str | None = None) -> CreatedTenant:
        clean = sorted({normalize_origin(o) for o in origins})
        secret = new_secret_key()
        tenant = Tenant(
            id=tenant_id or new_id("t"),
            name=name,
            origins=tuple(clean),
            publishable_key=new_publishable_key(),
            created_at=int(time.time() * 1000),
        )

        def write(conn: Connection) -> None:
            conn.execute(
                TENANTS.insert().values(
                    id=tenant.id,
                    name=tenant.name,
                    origins=json.dumps(clean),
                    secret_hash=hash_secret(secret),
                    publishable_key=tenant.publishable_key,
                    created_at=tenant.created_at,
                )
            )

        await self._run(write, write=True)
        return CreatedTenant(tenant=tenant, secret_key=secret)

    async def get(self, tenant_id: str) -> Tenant | None:
        return await self._one(TENANTS.c.id == tenant_id)

    async def by_publishable_key(self, key: str) -> Tenant | None:
        return await self._one(TENANTS.c.publishable_key == key)

    async def by_secret_key(self, key: str) -> Tenant | None:
        return await self._one(TENANTS.c.secret_hash == hash_secret(key))

    async def _one(self, where: Any) -> Tenant | None:
        def read(conn: Connection) -> Tenant | None:
            row = conn.execute(sa.select(TENANTS).where(where)).first()
            return None if row is None else _tenant(row)

        return await self._run(read)

    async def list(self) -> list[Tenant]:
        def read(conn: Connection) -> list[Tenant]:
            return [_tenant(r) for r in conn.execute(sa.select(TENANTS).order_by(TENANTS.c.created_at))]

        return await self._run(read)

    async def set_origins(self, tenant_id: str, origins: Sequence[str]) -> None:
        clean = sorted({normalize_origin(o) for o in origins})

        def write(conn: Connection) -> None:
            conn.execute(TENANTS.update().where(TENANTS.c.id == tenant_id).values(origins=json.dumps(clean)))

        await self._run(write, write=True)

    async def origin_known(self, origin: str) -> bool:
        """Is ``origin`` allowed by any tenant? (A CORS preflight carries no key.)"""

        def read(conn: Connection) -> bool:
            needle = json.dumps(origin)  # origins are stored as a JSON list of strings
            rows = conn.execute(
                sa.select(TENANTS.c.origins).where(TENANTS.c.origins.contains(needle, autoescape=True))
            ).all()
            return any(origin in json.loads(r.origins) for r in rows)

        return await self._run(read)

    async def ensure_demo(self, origins: Sequence[str]) -> Tenant:
        """The demo shop's tenant, with ``origins`` allowed (created on first use)."""
        tenant = await self.get(DEMO_TENANT_ID)
        if tenant is None:
            try:
                return (await self.create("Demo shop", origins, tenant_id=DEMO_TENANT_ID)).tenant
            except sa.exc.IntegrityError:  # another node created it meanwhile
                tenant = await self.get(DEMO_TENANT_ID)
                assert tenant is not None
        wanted = sorted({*tenant.origins, *(normalize_origin(o) for o in origins)})
        if list(tenant.origins) != wanted:
            await self.set_origins(tenant.id, wanted)
            tenant = await self.get(DEMO_TENANT_ID)
            assert tenant is not None
        return tenant

    # ---- rooms -----------------------------------------------------------------------

    async def tag_room(self, room_id: str, tenant_id: str) -> None:
        def write(conn: Connection) -> None:
            conn.execute(sa.update(ROOMS).where(ROOMS.c.id == room_id).values(tenant=tenant_id))

        await self._run(write, write=True)
        self._remember(room_id, tenant_id)

    async def room_tenant(self, room_id: str, *, fresh: bool = False) -> str | None:
        """The tenant of ``room_id`` (None: no tenant, or no such room). ``fresh`` reads the
        database even when cached: a room another node purged must not live on here."""
        cached = None if fresh else self._room_tenants.get(room_id)
        if cached is not None:
            self._room_tenants.move_to_end(room_id)
            return cached or None

        def read(conn: Connection) -> tuple[bool, str | None]:
            row = conn.execute(sa.select(ROOMS.c.tenant).where(ROOMS.c.id == room_id)).first()
            return (False, None) if row is None else (True, row.tenant)

        found, tenant = await self._run(read)
        if found:  # a room's tenant is set before anyone holds a token for it: cache it
            self._remember(room_id, tenant or _NO_TENANT)
        else:
            self._room_tenants.pop(room_id, None)
        return tenant

    def _remember(self, room_id: str, tenant: str) -> None:
        self._room_tenants[room_id] = tenant
        self._room_tenants.move_to_end(room_id)
        while len(self._room_tenants) > _ROOM_CACHE_SIZE:
            self._room_tenants.popitem(last=False)
