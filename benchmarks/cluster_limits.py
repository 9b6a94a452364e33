"""What deciding limits at the sequencer costs (issue 17), against a private redis-server.

    .venv/bin/python -m benchmarks.cluster_limits [--ops N]

Measured in one run, same Redis, same process (ratios are what matter):

1. ``append.lua`` per call: without a guard, and with a guard far from the limit (the
   common case: one ``GET`` more in the script);
2. ``online.lua`` ``admit`` per call in a room with 10 and with 1,000 members online
   (it scans the room's entries when the member is new on the node);
3. per frame: the one-node bucket (``MemberRates``), and the cluster bucket
   (``ClusterRates``: local leases, one Redis call per batch), with Redis calls per frame.

Traffic only to 127.0.0.1; every loop is bounded in count.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from cosession.hub.hub_redis import RedisHub
from cosession.rooms.member_rates import ClusterRates, MemberRates
from tests.support.redis_server import RedisServer


async def per_call(n: int, make: object) -> float:
    """Mean µs of ``await make(i)`` over ``n`` sequential calls."""
    started = time.perf_counter()
    for i in range(n):
        await make(i)  # type: ignore[operator]
    return (time.perf_counter() - started) / n * 1e6


async def run(ops: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(Path(tmp))
        await redis.start()
        hub = RedisHub(redis.url, node_id="bench")
        try:
            await hub.refresh_run_id()
            await hub.seed("r_b", "e1", 0)
            payload = b"x" * 120
            plain = await per_call(ops, lambda i: hub.append("r_b", "e1", payload, "m", f"a{i}"))
            guarded = await per_call(
                ops, lambda i: hub.append("r_b", "e1", payload, "m", f"g{i}", (ops + i, 1_000_000))
            )
            print(f"append.lua: {plain:.0f} µs without guard, {guarded:.0f} µs with guard ({guarded / plain:.2f}x)")
            for online in (10, 1000):
                room = f"r_o{online}"
                await hub.online(room, "add", [f"m{i}" for i in range(online)], ttl=60, bound=0)
                admit = await per_call(
                    ops // 4, lambda i, room=room: hub.online(room, "admit", [f"new{i}"], ttl=60, bound=10**6)
                )
                print(f"online.lua admit, {online} members online: {admit:.0f} µs")
            local = MemberRates(20.0, 40)
            frames = ops * 10
            now = time.monotonic()
            started = time.perf_counter()
            for i in range(frames):
                local.try_take(f"m{i % 50}", now + i * 0.01)
            one_node = (time.perf_counter() - started) / frames * 1e6
            cluster = ClusterRates(1000.0, 2000, hub, "r_b")  # generous: measure the granting path
            started = time.perf_counter()
            for i in range(frames):
                member = f"m{i % 50}"
                if cluster.try_take(member, time.monotonic()) is None:
                    await cluster.take(member, time.monotonic())
            clustered = (time.perf_counter() - started) / frames * 1e6
            print(
                f"rate limit per frame: {one_node:.2f} µs one node, {clustered:.2f} µs cluster "
                f"(batch {cluster.batch}, {cluster.borrows / frames:.3f} Redis calls per frame)"
            )
        finally:
            await hub.stop()
            redis.kill()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=2000)
    asyncio.run(run(parser.parse_args().ops))


if __name__ == "__main__":
    main()
