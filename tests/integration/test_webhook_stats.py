"""``services.webhooks.stats``: the counters the Prometheus exporter reads, on the real
app in process (real sockets, a real receiver)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import httpx

from cosession.config import Settings
from cosession.tenants.store import TenantStore
from tests.integration.test_tenants import bearer
from tests.support.inprocess import running_app
from tests.support.webhook_receiver import Receiver


async def test_stats_count_deliveries_failures_dead_letters_and_lag(tmp_path: Path) -> None:
    settings = dataclasses.replace(
        Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}"),
        webhook_poll=0.05,
        webhook_retries=1,
        webhook_retry_base=0.05,
        webhook_retry_cap=0.05,
    )
    ok, failing = await Receiver().start(), await Receiver(fail_all=True).start()
    try:
        async with running_app(settings) as server:
            webhooks = server.services.webhooks
            assert webhooks is not None
            stats = webhooks.stats
            tenant = await TenantStore(server.services.store).create("Shop", [])
            key = bearer(tenant.secret_key)
            async with httpx.AsyncClient(base_url=server.http_url) as http:
                for receiver in (ok, failing):
                    r = await http.post("/v1/webhooks/endpoints", json={"url": receiver.url}, headers=key)
                    receiver.secret = r.json()["secret"]
                assert (await http.post("/v1/rooms", json={}, headers=key)).status_code == 201
            await ok.wait_for(1)
            deadline = time.monotonic() + 20
            while stats.dead_lettered < 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert (stats.delivered, stats.failed, stats.dead_lettered) == (1, 2, 1)
            assert stats.enqueued >= 1 and stats.in_flight == 0
            while stats.lag_seconds > 0 and time.monotonic() < deadline:  # nothing pending any more
                await asyncio.sleep(0.02)
            assert stats.lag_seconds == 0
    finally:
        await ok.stop()
        await failing.stop()
