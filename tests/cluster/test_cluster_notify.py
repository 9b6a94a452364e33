"""Notifications on a cluster (SPEC 18): two real nodes, real Redis and PostgreSQL. A
member connected to the other node counts as online (no notification); once gone, a vote
sequenced on either node notifies them once, and the digest that follows is written and
sent by exactly one node."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from cosession.store.store_sql import SqlStore
from cosession.tenants.store import TenantStore
from tests.integration.test_notify_webhook import (
    QUIET,
    add_line,
    gone,
    member,
    notifications,
    until_notifications,
    vote,
)
from tests.integration.test_tenants import bearer
from tests.support.cluster import Cluster
from tests.support.raw import RawClient
from tests.support.redis_server import RedisServer
from tests.support.webhook_receiver import Receiver


async def test_cluster_presence_decides_and_one_node_sends_the_digest(
    tmp_path: Path, redis_server: RedisServer, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {"NOTIFY_QUIET": str(QUIET), "NOTIFY_POLL": "0.1", "WEBHOOK_POLL": "0.1"}.items():
        monkeypatch.setenv(f"COSESSION_{name}", value)
    receiver = await Receiver().start()
    cluster = Cluster(tmp_path, redis_server.url, postgres_url, 2)
    a, b = cluster.nodes
    try:
        await cluster.start()
        store = SqlStore(postgres_url)
        await store.start()
        try:
            tenant = await TenantStore(store).create("Shop", [])
        finally:
            await store.close()
        key = tenant.secret_key
        async with httpx.AsyncClient() as http:
            r = await http.post(
                a.http_url + "/v1/webhooks/endpoints",
                json={"url": receiver.url, "event_types": ["notification"]},
                headers=bearer(key),
            )
            assert r.status_code == 201, r.text
            receiver.secret = r.json()["secret"]
            r = await http.post(a.http_url + "/v1/rooms", json={"name": "N"}, headers=bearer(key))
            assert r.status_code == 201, r.text
            room = r.json()
        owner, _ = await RawClient.join(a.ws_url, room["token"])  # on node A
        ana, ana_id, _ = await member(b, room, "Ana")  # on node B
        bea, _bea, _ = await member(b, room, "Bea")
        line = await add_line(ana, "jacket")
        await vote(owner, line)  # sequenced on A; Ana is online on B: nothing
        await asyncio.sleep(1.0)
        assert notifications(receiver) == []
        await ana.close()
        await gone(owner, ana_id)
        await vote(owner, line, "down")  # now she is away: notified
        [first] = await until_notifications(receiver, 1)
        opened = time.monotonic()
        assert first.body["data"]["member"] == ana_id and first.body["data"]["digest"] is False
        await vote(bea, line)  # sequenced on B, inside the window
        found = await until_notifications(receiver, 2, timeout=QUIET + 15)
        assert time.monotonic() - opened >= QUIET - 0.5
        assert found[1].body["data"]["digest"] is True and found[1].body["data"]["reasons"] == {"vote": 1}
        await asyncio.sleep(QUIET + 0.5)
        assert len(notifications(receiver)) == 2
        assert set(receiver.requests.values()) == {1}  # each message sent once, by one node
        await owner.close()
        await bea.close()
    except BaseException:
        print("\n".join(n.log_tail(200) for n in cluster.nodes))
        raise
    finally:
        cluster.kill()
        await receiver.stop()
