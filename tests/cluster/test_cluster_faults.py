"""Faults under load: a node killed, Redis restarted empty, Redis paused, a node cut off.

Each fault strikes mid-burst: at the first moment at least N ops are written and not yet
acked (``when_in_flight``, no fixed sleep), and the test asserts that count and that the
bursts still had ops to send at the fault."""

from __future__ import annotations

import asyncio

import httpx

from tests.cluster.burst import Member, Pulse, burst, close_all, converge, join_members, unacked, when_in_flight
from tests.support.cluster import Cluster
from tests.support.redis_server import RedisServer
from tests.support.tcp_proxy import TcpProxy

CHUNK = 4  # ops each member writes back to back: in flight together whatever the server's speed


def start_bursts(members: list[Member], count: int, pause: float, pulse: Pulse) -> list[asyncio.Task[None]]:
    return [
        asyncio.create_task(burst(m, f"m{i}", count, pause, chunk=CHUNK, pulse=pulse)) for i, m in enumerate(members)
    ]


async def test_kill_9_a_node_during_a_burst(cluster: Cluster) -> None:
    room, members = await join_members(cluster, 6)
    victim = cluster.nodes[1]
    on_victim = [m for m in members if m.node == 1]
    # the victim's members will reconnect to node 2 (as a load balancer would send them)
    for m in on_victim:
        m.client.ws_url = cluster.nodes[2].ws_url
    pulse = Pulse()
    bursts = start_bursts(members, 40, 0.02, pulse)
    seen = await when_in_flight(pulse, members, on_victim, bursts, 6 * 40, submitted=6 * 8, in_flight=CHUNK)
    victim.kill()
    # at the kill: ops written to the victim and not acked, and more still to come
    assert seen.unacked >= CHUNK and seen.submitted < seen.total, seen
    async with asyncio.timeout(90):
        await asyncio.gather(*bursts)
    assert sum(len(m.acked) for m in members) == 6 * 40  # retried after reconnect, never lost
    await converge(members)
    assert all(m.client.reconnects >= 1 for m in members if m.node == 1)
    await close_all(members)
    del room


async def test_redis_restarted_empty_mid_burst(cluster: Cluster, redis_server: RedisServer) -> None:
    _room, members = await join_members(cluster, 6)
    epoch_before = members[0].client.epoch
    pulse = Pulse()
    bursts = start_bursts(members, 40, 0.02, pulse)
    seen = await when_in_flight(pulse, members, members, bursts, 6 * 40, submitted=6 * 8, in_flight=2 * CHUNK)
    redis_server.kill()  # (restart's first step; done here so no ack can arrive before it)
    assert seen.unacked >= 2 * CHUNK and seen.submitted < seen.total, seen
    await redis_server.restart(keep_data=False)
    async with asyncio.timeout(120):
        await asyncio.gather(*bursts)
    assert sum(len(m.acked) + len(m.rejected) for m in members) == 6 * 40
    await converge(members)
    # Redis lost the room: it was re-seeded under a new epoch, and everyone followed
    assert members[0].client.epoch != epoch_before
    assert len({m.client.epoch for m in members}) == 1
    await close_all(members)


async def test_redis_paused_for_5_seconds(cluster: Cluster, redis_server: RedisServer) -> None:
    _room, members = await join_members(cluster, 6)
    epoch_before = members[0].client.epoch
    pulse = Pulse()
    bursts = start_bursts(members, 32, 0.1, pulse)
    seen = await when_in_flight(pulse, members, members, bursts, 6 * 32, submitted=6 * 8, in_flight=2 * CHUNK)
    redis_server.pause()
    try:
        assert seen.unacked >= 2 * CHUNK and seen.submitted < seen.total, seen
        await asyncio.sleep(5)  # the fault is a 5-second freeze: its length is the point
    finally:
        redis_server.resume()
    async with asyncio.timeout(120):
        await asyncio.gather(*bursts)
    assert sum(len(m.acked) for m in members) == 6 * 32
    await converge(members)
    assert members[0].client.epoch == epoch_before  # nothing was lost: same history
    await close_all(members)


async def test_node_cut_off_from_redis_keeps_sockets_and_catches_up(
    tmp_path,
    redis_server: RedisServer,
    postgres_url: str,
    tcp_proxy_factory,  # type: ignore[no-untyped-def]
) -> None:
    proxy: TcpProxy = await tcp_proxy_factory(redis_server.port)
    cluster = Cluster(tmp_path, redis_server.url, postgres_url, 2)
    # node 1 reaches Redis only through the proxy
    cluster.nodes[1] = cluster._node(tmp_path / "node1", "node1", proxy.url())
    await cluster.start()
    try:
        _room, members = await join_members(cluster, 4)
        isolated = [m for m in members if m.node == 1]
        proxy.cut()
        async with httpx.AsyncClient() as http:
            async with asyncio.timeout(15):
                while (await http.get(cluster.nodes[1].http_url + "/readyz")).status_code == 200:
                    await asyncio.sleep(0.1)  # polling another process: nothing to await
        # the others keep editing; the isolated members' sockets stay open
        await asyncio.gather(*(burst(m, f"m{i}", 10) for i, m in enumerate(members) if m.node == 0))
        assert all(m.client.connected for m in isolated)
        reconnects = [m.client.reconnects for m in isolated]
        # an op on the isolated node waits for Redis instead of failing
        pulse = Pulse()
        pending = asyncio.create_task(burst(isolated[0], "isolated", 3, chunk=3, pulse=pulse))
        await when_in_flight(pulse, isolated, isolated[:1], [pending], 3, submitted=3, in_flight=3)
        await asyncio.sleep(1.0)  # how long the ops wait is the point: a second without Redis
        assert unacked(isolated[:1]) == 3 and not isolated[0].rejected and not pending.done()
        proxy.restore()
        async with asyncio.timeout(60):
            await pending
        await converge(members)
        assert [m.client.reconnects for m in isolated] == reconnects  # caught up without reconnecting
        assert await cluster.ready(cluster.nodes[1])
        await close_all(members)
    finally:
        cluster.kill()


async def test_dead_nodes_members_leave_within_seconds(cluster: Cluster) -> None:
    from protocol.messages import PresenceUpdate
    from tests.support.raw import RawClient

    room = await cluster.nodes[0].create_room()
    friend = await cluster.nodes[1].accept(room["invite"]["code"], "Bea")
    watcher, _ = await RawClient.join(cluster.nodes[0].ws_url, room["token"])
    on_node1, _ = await RawClient.join(cluster.nodes[1].ws_url, friend["token"])
    async with asyncio.timeout(10):
        while True:
            joined = await watcher.expect(PresenceUpdate, kind="join")
            if joined.member.member == friend["member"]:
                break
    loop = asyncio.get_running_loop()
    killed_at = loop.time()
    cluster.nodes[1].kill()
    async with asyncio.timeout(15):
        while True:
            left = await watcher.expect(PresenceUpdate, kind="leave", timeout=15)
            if left.member.member == friend["member"]:
                break
    # node TTL (3 s) + one sweep (1 s), with slack for a loaded machine
    assert loop.time() - killed_at < 10
    del on_node1
