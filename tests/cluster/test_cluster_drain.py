"""Graceful drain: SIGTERM closes a node's clients with 1001, they resume elsewhere, the
node exits, and every acked op is durable."""

from __future__ import annotations

import asyncio
import signal

import httpx

from protocol.errors import CloseCode
from tests.cluster.burst import Pulse, burst, close_all, converge, join_members, when_in_flight
from tests.support.cluster import Cluster
from tests.support.raw import RawClient


async def test_sigterm_drains_a_node(cluster: Cluster) -> None:
    _room, members = await join_members(cluster, 4)
    node = cluster.nodes[1]
    raw, welcome = await RawClient.join(node.ws_url, members[1].client.token)
    on_node = [m for m in members if m.node == 1]
    for m in on_node:
        m.client.ws_url = cluster.nodes[0].ws_url
    pulse = Pulse()
    bursts = [
        asyncio.create_task(burst(m, f"m{i}", 20, pause=0.04, chunk=4, pulse=pulse)) for i, m in enumerate(members)
    ]
    # SIGTERM mid-burst: ops written to the node and not acked yet, more still to come
    seen = await when_in_flight(pulse, members, on_node, bursts, 4 * 20, submitted=4 * 8, in_flight=4)
    assert node.proc is not None
    node.proc.send_signal(signal.SIGTERM)
    assert seen.unacked >= 4 and seen.submitted < seen.total, seen
    assert await raw.closed_with(timeout=15) == CloseCode.GOING_AWAY
    async with asyncio.timeout(30):
        await asyncio.to_thread(node.proc.wait)
    # uvicorn re-raises the signal once its graceful shutdown is done
    assert node.proc.returncode in (0, -signal.SIGTERM)
    async with asyncio.timeout(90):
        await asyncio.gather(*bursts)
    assert sum(len(m.acked) for m in members) == 4 * 20
    await converge(members)
    # the drained node refused nothing it acknowledged: a fresh member sees every op
    fresh, w2 = await RawClient.join(cluster.nodes[2].ws_url, members[0].client.token)
    assert w2.snapshot is not None
    texts = {m.text for m in w2.snapshot.chat}
    assert all(text in texts for m in members for text in m.acked)
    await fresh.close()
    del welcome
    await close_all(members)


async def test_readiness_follows_the_database(cluster: Cluster, postgres_server) -> None:  # type: ignore[no-untyped-def]
    node = cluster.nodes[0]
    assert await cluster.ready(node)
    await asyncio.to_thread(postgres_server.stop)
    try:
        async with httpx.AsyncClient() as http:
            async with asyncio.timeout(30):
                while True:
                    response = await http.get(node.http_url + "/readyz", timeout=10)
                    if response.status_code == 503:
                        assert "database unreachable" in response.text
                        break
                    await asyncio.sleep(0.2)
    finally:
        await asyncio.to_thread(postgres_server._run_server, 60.0)
    async with asyncio.timeout(30):
        while not await cluster.ready(node):
            await asyncio.sleep(0.2)
