"""Webhooks on a cluster: two real nodes (real Redis, real PostgreSQL) deliver from one
outbox, each message by exactly one node (leases with SKIP LOCKED), rooms in order."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from cosession.store.store_sql import SqlStore
from cosession.tenants.store import TenantStore
from tests.integration.test_tenants import bearer
from tests.support.cluster import Cluster
from tests.support.raw import RawClient
from tests.support.redis_server import RedisServer
from tests.support.server import ServerProcess
from tests.support.webhook_receiver import Receiver

ROOMS_PER_NODE = 5


async def _room(node: ServerProcess, key: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        r = await http.post(node.http_url + "/v1/rooms", json={"name": "Hooks"}, headers=bearer(key), timeout=10)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def _visit(node: ServerProcess, other: ServerProcess, key: str) -> str:
    """A room made on ``node``; a member joins it on ``other`` and leaves."""
    room = await _room(node, key)
    joined = await other.accept(room["invite"]["code"], "Ana")
    client, _ = await RawClient.join(other.ws_url, joined["token"])
    await client.ws.close()
    room_id: str = room["room"]
    return room_id


async def test_two_nodes_never_both_deliver_a_message(
    tmp_path: Path, redis_server: RedisServer, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COSESSION_WEBHOOK_POLL", "0.1")
    monkeypatch.setenv("COSESSION_WEBHOOK_CONCURRENCY", "4")
    receiver = await Receiver(delay=0.02).start()
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
            r = await http.post(a.http_url + "/v1/webhooks/endpoints", json={"url": receiver.url}, headers=bearer(key))
        assert r.status_code == 201, r.text
        receiver.secret = r.json()["secret"]
        rooms = await asyncio.gather(
            *(_visit(a, b, key) for _ in range(ROOMS_PER_NODE)), *(_visit(b, a, key) for _ in range(ROOMS_PER_NODE))
        )
        got = await receiver.wait_for(3 * len(rooms), timeout=60)
        await asyncio.sleep(1.0)  # time for any second delivery to show up
        assert set(receiver.requests.values()) == {1}, receiver.requests  # each id sent once, by one node
        per_room: dict[str, list[str]] = defaultdict(list)
        for d in receiver.accepted:
            per_room[d.body["data"]["room"]].append(d.body["type"])
        assert sorted(per_room) == sorted(rooms)
        assert all(types == ["room.created", "member.joined", "member.left"] for types in per_room.values()), per_room
        assert len(got) == 3 * len(rooms)
        store = SqlStore(postgres_url)
        try:
            async with store.reader() as conn:
                nodes = dict(
                    (await conn.execute(text("SELECT node, count(*) FROM webhook_attempts GROUP BY node"))).all()
                )
        finally:
            await store.close()
        assert sum(nodes.values()) == 3 * len(rooms)  # one attempt per message
        assert set(nodes) == {"node0", "node1"}, nodes  # both nodes delivered
    finally:
        cluster.kill()
        await receiver.stop()


async def test_a_dead_nodes_lease_is_taken_over(
    tmp_path: Path, redis_server: RedisServer, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COSESSION_WEBHOOK_POLL", "0.1")
    # the kill lands well within the attempt's timeout; the lease is raised to 2 x 3 + 5 = 11 s
    monkeypatch.setenv("COSESSION_WEBHOOK_TIMEOUT", "3")
    monkeypatch.setenv("COSESSION_WEBHOOK_LEASE", "1")
    receiver = await Receiver(hang_first=1, hang=30.0).start()
    cluster = Cluster(tmp_path, redis_server.url, postgres_url, 2)
    a, b = cluster.nodes
    try:
        await a.start()
        store = SqlStore(postgres_url)
        await store.start()
        try:
            tenant = await TenantStore(store).create("Shop", [])
        finally:
            await store.close()
        async with httpx.AsyncClient() as http:
            r = await http.post(
                a.http_url + "/v1/webhooks/endpoints",
                json={"url": receiver.url, "event_types": ["room.created"]},
                headers=bearer(tenant.secret_key),
            )
        assert r.status_code == 201, r.text
        receiver.secret = r.json()["secret"]
        await _room(a, tenant.secret_key)
        async with asyncio.timeout(10):  # node A is sending it now; the receiver holds the request
            while not receiver.requests:
                await asyncio.sleep(0.02)
        a.kill()  # dies holding the lease
        await b.start()
        got = await receiver.wait_for(1, timeout=60)
        [msg_id] = got
        assert receiver.requests[msg_id] == 2 and len(receiver.accepted) == 1
        # node B records its attempts in batches: poll (bounded) until its batch is written
        store = SqlStore(postgres_url)
        try:
            async with asyncio.timeout(20):
                while True:
                    async with store.reader() as conn:
                        attempts = (await conn.execute(text("SELECT node, ok FROM webhook_attempts"))).all()
                    if attempts:
                        break
                    await asyncio.sleep(0.05)
        finally:
            await store.close()
        assert [tuple(x) for x in attempts] == [("node1", True)]  # node A never recorded its attempt
    finally:
        cluster.kill()
        await receiver.stop()
