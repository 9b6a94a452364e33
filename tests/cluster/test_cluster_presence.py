"""Presence across nodes survives lost Redis writes (issue 17): node 1 reaches Redis
through a TCP proxy that is cut while its presence changes; once Redis answers again,
the other node's members see the right presence within a heartbeat, without node 1's
members ever being dropped as if the node had died."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from protocol.messages import Focus, PresenceMember, PresenceUpdate, Product
from tests.support.cluster import Cluster
from tests.support.raw import RawClient
from tests.support.redis_server import RedisServer
from tests.support.tcp_proxy import TcpProxy

NODE_TTL = 6.0  # long enough that a 1 s cut never looks like a dead node
BAG = Product(id="bag", name="Bag", price=2500, currency="EUR")


async def presence_of(
    client: RawClient, member: str, timeout: float, match: Callable[[PresenceUpdate], bool]
) -> PresenceUpdate:
    async with asyncio.timeout(timeout):
        while True:
            msg = await client.recv(timeout)
            if isinstance(msg, PresenceUpdate) and msg.member.member == member and match(msg):
                return msg


def left(client: RawClient, member: str) -> bool:
    return any(isinstance(m, PresenceUpdate) and m.kind == "leave" and m.member.member == member for m in client.seen)


async def test_presence_converges_within_a_heartbeat_after_lost_redis_writes(
    tmp_path: Path,
    redis_server: RedisServer,
    postgres_url: str,
    tcp_proxy_factory: Callable[[int], Awaitable[TcpProxy]],
) -> None:
    proxy = await tcp_proxy_factory(redis_server.port)
    flags = ("--node-ttl", str(NODE_TTL))
    cluster = Cluster(tmp_path, redis_server.url, postgres_url, 2, *flags)
    cluster.nodes[1] = cluster._node(tmp_path / "node1", "node1", proxy.url(), *flags)
    await cluster.start()
    try:
        node0, node1 = cluster.nodes
        room = await node0.create_room()
        bea = await node1.accept(room["invite"]["code"], "Bea")
        cy = await node1.accept(room["invite"]["code"], "Cy")
        owner, _ = await RawClient.join(node0.ws_url, room["token"])
        bea_ws, _ = await RawClient.join(node1.ws_url, bea["token"])
        cy_ws, _ = await RawClient.join(node1.ws_url, cy["token"])
        for member in (bea["member"], cy["member"]):
            await presence_of(owner, member, 15, lambda m: m.kind == "join")

        # 1. a lost "leave": Bea leaves while node 1 cannot write to Redis (a ghost)
        proxy.cut()
        await bea_ws.close()
        await asyncio.sleep(1.0)  # the fault window: node 1's grace (0.5 s) ends, its write fails
        proxy.restore()
        restored = time.monotonic()
        await presence_of(owner, bea["member"], NODE_TTL, lambda m: m.kind == "leave")
        took_leave = time.monotonic() - restored

        # 2. a lost "update": Cy's focus changes while node 1 is cut off (invisible)
        proxy.cut()
        await cy_ws.send(Focus(product=BAG))
        await asyncio.sleep(1.0)  # the fault window: node 1's write and publish fail
        proxy.restore()
        restored = time.monotonic()
        update = await presence_of(owner, cy["member"], NODE_TTL, lambda m: m.member.focus == BAG)
        took_focus = time.monotonic() - restored
        assert update.kind == "update"

        # node 1 was never taken for dead: Cy never left, and a late joiner sees her focus
        assert not left(owner, cy["member"])
        late, welcome = await RawClient.join(node0.ws_url, room["token"])
        seen: dict[str, PresenceMember] = {p.member: p for p in welcome.presence}
        assert bea["member"] not in seen and seen[cy["member"]].focus == BAG
        assert took_leave < NODE_TTL and took_focus < NODE_TTL
        for client in (owner, cy_ws, late):
            await client.close()
    finally:
        cluster.kill()
