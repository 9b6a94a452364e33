"""Helpers for admin API tests: tenants made in a server's database, rooms and members
through the REST API, and polling with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


async def make_tenant(database_url: str, name: str = "Shop") -> dict[str, str]:
    from cosession.store.store_sql import SqlStore
    from cosession.tenants.store import TenantStore

    store = SqlStore(database_url)
    await store.start()
    try:
        made = await TenantStore(store).create(name, ["https://shop.example"])
    finally:
        await store.close()
    return {"id": made.tenant.id, "sk": made.secret_key, "pk": made.tenant.publishable_key}


def sk(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


async def new_room(base: str, key: str, name: str, owner: str = "Olga") -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        r = await http.post(base + "/v1/rooms", json={"name": name, "owner_name": owner}, headers=sk(key))
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        return data


async def accept(base: str, code: str, name: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        r = await http.post(base + f"/v1/invites/{code}/accept", json={"name": name})
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        return data


async def poll(check: Callable[[], Awaitable[T | None]], timeout: float = 20.0, every: float = 0.1) -> T:
    """Call ``check`` until it returns something other than None, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met before the deadline")
        await asyncio.sleep(every)
