"""Hypothesis across nodes: members on different nodes write concurrently, in random
interleavings; every member and every node folds to the same state."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadtest.local_postgres import PostgresServer
from protocol.errors import ErrorCode
from protocol.messages import CartAdd, CartRemove, ClientOpBody, Error, Event, Product
from protocol.reducer import apply, copy_state
from tests.integration.test_interleavings import LINE_IDS, ops
from tests.support.cluster import Cluster
from tests.support.raw import RawClient
from tests.support.redis_server import RedisServer
from tests.support.scripts import run_scripts

CART_LIMIT = 3
MANY = [Product(id=f"p{i}", name=f"P{i}", price=100, currency="EUR") for i in range(6)]
cart_ops = st.one_of(
    st.builds(CartAdd, product=st.sampled_from(MANY), qty=st.integers(1, 3)),
    st.builds(CartRemove, line=LINE_IDS),
)


@contextlib.contextmanager
def private_cluster(postgres_server: PostgresServer, *flags: str) -> Iterator[Cluster]:
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
        cluster = Cluster(root, redis.url, postgres_server.url_for(name), 3, *flags)
        try:
            asyncio.run(cluster.start())
            yield cluster
        finally:
            cluster.kill()
            redis.kill()


@pytest.fixture(scope="module")
def live_cluster(postgres_server: PostgresServer) -> Iterator[Cluster]:
    with private_cluster(postgres_server) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def cart_limited_cluster(postgres_server: PostgresServer) -> Iterator[Cluster]:
    with private_cluster(postgres_server, "--max-cart-lines", str(CART_LIMIT)) as cluster:
        yield cluster


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


async def cart_scenario(cluster: Cluster, scripts: list[list[ClientOpBody]], pauses: list[int]) -> None:
    nodes = cluster.nodes
    room = await nodes[0].create_room()
    tokens = [room["token"]] + [(await nodes[i].accept(room["invite"]["code"], f"M{i}"))["token"] for i in (1, 2)]
    clients = [await RawClient.join(nodes[i].ws_url, token) for i, token in enumerate(tokens)]
    async with asyncio.timeout(90):
        head, views = await run_scripts(clients, scripts, pauses)
    for (client, welcome), view in zip(clients, views, strict=True):
        assert welcome.snapshot is not None
        state = copy_state(welcome.snapshot)
        for msg in client.seen:
            if isinstance(msg, Event) and msg.seq > state.seq:
                apply(state, msg)
                assert len(state.cart) <= CART_LIMIT, f"{len(state.cart)} lines at seq {msg.seq}"
            elif isinstance(msg, Error):
                assert msg.code in (ErrorCode.CART_FULL, ErrorCode.NOT_FOUND), msg
        assert state.seq == head and state == view.state
    for client, _ in clients:
        await client.close()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    scripts=st.lists(st.lists(cart_ops, min_size=2, max_size=8), min_size=3, max_size=3),
    pauses=st.lists(st.integers(0, 3), min_size=3, max_size=3),
)
def test_racing_cart_adds_on_three_nodes_never_exceed_max_cart_lines(
    cart_limited_cluster: Cluster, scripts: list[list[ClientOpBody]], pauses: list[int]
) -> None:
    """SPEC 8.3: the limit is decided at sequencing time, so no interleaving of adds (and
    removes freeing lines) from members on three nodes folds a cart past the limit."""
    asyncio.run(cart_scenario(cart_limited_cluster, scripts, pauses))
