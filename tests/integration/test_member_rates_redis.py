"""A member's bucket in Redis (``rate.lua``), shared by two nodes that each borrow small
batches: the member gets one bucket's worth, and most frames cost no Redis call."""

from __future__ import annotations

import time

from cosession.hub.hub_redis import RedisHub
from cosession.rooms.member_rates import ClusterRates
from tests.support.redis_server import RedisServer


async def take(rates: ClusterRates, member: str) -> bool:
    now = time.monotonic()
    allowed = rates.try_take(member, now)
    return allowed if allowed is not None else await rates.take(member, now)


async def test_two_nodes_share_one_members_bucket_and_borrow_in_batches(redis_server: RedisServer) -> None:
    rate, burst = 40.0, 80  # batches of 10
    hubs = [RedisHub(redis_server.url, node_id=f"n{i}") for i in range(2)]
    try:
        nodes = [ClusterRates(rate, burst, hub, "r_room") for hub in hubs]
        assert nodes[0].batch == 10
        started = time.monotonic()
        granted = [await take(nodes[i % 2], "m_a") for i in range(200)]  # alternating nodes
        elapsed = time.monotonic() - started
        # one bucket: the burst, the refill, and at most one batch each node still holds
        assert burst <= sum(granted) <= burst + rate * elapsed + 2 * nodes[0].batch
        assert sum(granted) < 2 * burst
        # the fast path: one Redis call per batch while granting; refusals are remembered
        borrows = sum(node.borrows for node in nodes)
        assert borrows <= burst // nodes[0].batch + 4 + 2 * rate * elapsed, (borrows, elapsed)
        print(f"200 frames on two nodes: {sum(granted)} granted, {borrows} Redis calls, {elapsed * 1000:.1f} ms")
        # another member, on either node, has a bucket of its own
        assert await take(nodes[1], "m_b") is True
    finally:
        for hub in hubs:
            await hub.stop()
