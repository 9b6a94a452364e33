"""A tenant with 24 rooms in a SQLite file, and ``cosession report`` run on it as a
subprocess: shared by the report's CLI test and its Chromium test."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from cosession.store.store_sql import SqlStore
from cosession.tenants.store import TenantStore
from tests.support.trend_rooms import RoomPlan, write_room


async def tenant_with_rooms(db: Path) -> str:
    """24 rooms: 12 pairs bought shoes and socks, liked the shoes and checked out; 10 trios
    bought shoes after looking at boots too; 2 groups of six bought a hat (too few to show)."""
    store = SqlStore(f"sqlite:///{db}")
    await store.start()
    try:
        tenant = (await TenantStore(store).create("Shoe shop", [])).tenant
        now = int(time.time() * 1000)
        plans = (
            [RoomPlan(tenant.id, now, 2, ["sku-shoe", "sku-sock"], upvote_first=True, checkout=True)] * 12
            + [RoomPlan(tenant.id, now, 3, ["sku-shoe"], viewed=["sku-shoe", "sku-boot"])] * 10
            + [RoomPlan(tenant.id, now, 6, ["sku-hat"])] * 2
        )
        for plan in plans:
            await write_room(store, plan)
        return tenant.id
    finally:
        await store.close()


async def run_report(db: Path, *args: str, timeout: float = 60) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cosession",
        "report",
        "--database-url",
        f"sqlite:///{db}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        raise
    return proc.returncode or 0, out.decode(), err.decode()
