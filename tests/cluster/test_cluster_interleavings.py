"""Hypothesis across nodes: members on different nodes write concurrently, in random
interleavings; every member and every node folds to the same state."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadtest.local_postgres import PostgresServer
from protocol.messages import ClientOpBody
from tests.integration.test_interleavings import ops
from tests.support.cluster import Cluster
from tests.support.raw import RawClient
from tests.support.redis_server import RedisServer
from tests.support.scripts import run_scripts


@pytest.fixture(scope="module")
def live_cluster(postgres_server: PostgresServer) -> Iterator[Cluster]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        redis = RedisServer(root / "redis")
        (root / "redis").mkdir()
        asyncio.run(redis.start())
        name = postgres_server.next_database_name()
        postgres_server._run(
            str(postgres_server.bin_dir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(postgres_server.port),
            "-U",
            postgres_server.db_user,
            name,
        )
        cluster = Cluster(root, redis.url, postgres_server.url_for(name), 3)
        try:
            asyncio.run(cluster.start())
            yield cluster
        finally:
            cluster.kill()
            redis.kill()


async def scenario(cluster: Cluster, scripts: list[list[ClientOpBody]], pauses: list[int]) -> None:
    nodes = cluster.nodes
    room = await nodes[0].create_room()
    tokens = [room["token"]] + [
        (await nodes[i % 3].accept(room["invite"]["code"], f"M{i}"))["token"] for i in range(1, len(scripts))
    ]
    clients = [await RawClient.join(nodes[i % 3].ws_url, token) for i, token in enumerate(tokens)]

    async with asyncio.timeout(90):
        head, views = await run_scripts(clients, scripts, pauses)
        finals = []
        for node in nodes:  # a node's replica may still be applying the last events
            for _ in range(50):
                observer, final = await RawClient.join(node.ws_url, room["token"])
                await observer.close()
                if final.seq >= head:
                    break
                await asyncio.sleep(0.05)
            finals.append(final)
    for final in finals:
        assert final.snapshot is not None and final.seq >= head
    reference = finals[0].snapshot
    for final in finals[1:]:
        assert final.snapshot == reference
    for view in views:
        assert view.state == reference
    for client, _ in clients:
        await client.close()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    scripts=st.lists(st.lists(ops, min_size=1, max_size=10), min_size=2, max_size=4),
    pauses=st.lists(st.integers(0, 3), min_size=4, max_size=4),
)
def test_concurrent_writes_across_nodes_converge(
    live_cluster: Cluster, scripts: list[list[ClientOpBody]], pauses: list[int]
) -> None:
    asyncio.run(scenario(live_cluster, scripts, pauses[: len(scripts)]))
