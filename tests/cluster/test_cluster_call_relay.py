"""Relay placement in a cluster (SPEC 14.6): one node hosts a room's relay (Redis key
``{room:<id>}:relay``), participants on every node reach it, and when that node dies
another one takes over and media flows again."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from cosession_client.call import RELAY, Call
from cosession_client.client import RoomClient
from protocol.errors import ErrorCode
from protocol.messages import CallJoin, Error, PresenceUpdate, Signal, SignalRelay
from tests.support.calls import roster
from tests.support.cluster import Cluster
from tests.support.loopback_ice import loopback_only
from tests.support.raw import RawClient
from tests.support.redis_server import RedisServer

FRAMES = 25  # half a second of 20 ms audio frames
RELAY_ARGS = ("--call-mode", "relay", "--call-relay-address", "127.0.0.1", "--log-level", "info")  # info: PLACED
PLACED = "call relay placed on this node"
TAKEOVER_S = 60.0  # bound for: heartbeat expiry + sweep + a new ICE set-up, on a busy machine


async def _holder(redis_url: str, room_id: str, timeout: float = 20.0, other_than: str = "") -> str:
    """The node named by the room's relay key, once it names one (other than ``other_than``)."""
    client = aioredis.from_url(redis_url)
    try:
        async with asyncio.timeout(timeout):
            while True:
                value: Any = await client.get("{room:" + room_id + "}:relay")
                if value is not None and value.decode() != other_than:
                    return str(value.decode())
                await asyncio.sleep(0.1)
    finally:
        await client.aclose()


async def _knows_in_call(client: RawClient, members: set[str], timeout: float = 10.0) -> None:
    """Wait until ``client``'s node shows every one of ``members`` in the call."""

    def known() -> set[str]:
        latest: dict[str, bool] = {}
        for m in client.seen:
            if isinstance(m, PresenceUpdate):
                latest[m.member.member] = m.member.call is not None
        return {member for member, in_call in latest.items() if in_call}

    async with asyncio.timeout(timeout):
        while not members <= known():
            await client.recv(timeout)


async def test_one_node_relays_for_all_and_another_takes_over(
    tmp_path: Path, redis_server: RedisServer, postgres_url: str
) -> None:
    cluster = Cluster(tmp_path, redis_server.url, postgres_url, 3, *RELAY_ARGS)
    await cluster.start()
    clients: list[RoomClient] = []
    calls: list[Call] = []
    try:
        nodes = cluster.nodes
        room = await nodes[0].create_room()
        tokens = [room["token"]]
        for name, node in (("Bo", nodes[1]), ("Cy", nodes[2])):
            tokens.append((await node.accept(room["invite"]["code"], name))["token"])
        for token, node in zip(tokens, nodes, strict=True):  # one participant per node
            clients.append(await RoomClient.connect(token, server=node.http_url))
        ids = [c.member for c in clients]
        with loopback_only():
            calls = [Call(c, ice_servers=[]) for c in clients]
            for call in calls:
                await call.join()
            for call in calls:
                await call.wait_for(lambda call=call: call.mode == "relay" and sorted(call.members) == sorted(ids))
            for me, call in zip(ids, calls, strict=True):
                for other in ids:
                    if other != me:
                        assert await call.wait_frames(other, "audio", FRAMES, timeout=60) >= FRAMES
                assert list(call.peers) == [RELAY]  # one peer connection each: to the one relay
            holder = await _holder(redis_server.url, room["room"])
            hosts = [node.workdir.name for node in nodes if PLACED in node.log_tail(2000)]
            assert hosts == [holder], cluster.logs()  # one relay, on the node the key names

            # the relay's node dies: a survivor takes the key, its relay offers again
            dead = [node.workdir.name for node in nodes].index(holder)
            nodes[dead].kill()
            killed_at = time.monotonic()
            survivors = [i for i in range(3) if i != dead]
            new_holder = await _holder(redis_server.url, room["room"], timeout=TAKEOVER_S, other_than=holder)
            assert new_holder in {nodes[i].workdir.name for i in survivors}
            a, b = survivors
            for hearer, speaker in ((a, b), (b, a)):
                now = calls[hearer].frames[ids[speaker]]["audio"]
                remaining = max(1.0, TAKEOVER_S - (time.monotonic() - killed_at))
                assert await calls[hearer].wait_frames(ids[speaker], "audio", now + FRAMES, timeout=remaining)
            print(f"relay takeover: frames again {time.monotonic() - killed_at:.1f} s after the kill")
            for i in survivors:
                await calls[i].wait_for(lambda i=i: sorted(calls[i].members) == sorted(ids[j] for j in survivors))
            hosts = [nodes[i].workdir.name for i in survivors if PLACED in nodes[i].log_tail(2000)]
            assert hosts == [new_holder]
    finally:
        for call in calls:
            await asyncio.wait_for(call.close(), 20)
        for client in clients:
            await asyncio.wait_for(client.close(), 20)
        cluster.kill()


async def test_relay_signals_from_other_nodes_and_bad_ones(
    tmp_path: Path, redis_server: RedisServer, postgres_url: str
) -> None:
    """Raw participants on three nodes, the relay bounded to two: the relay's offers reach
    participants on other nodes; a re-join from a connection on another node gets a fresh
    offer there; ``to: ""`` from beyond the bound or from outside the call is ``not_found``
    on a node that does not host the relay; the relay's node drains and another takes over."""
    cluster = Cluster(tmp_path, redis_server.url, postgres_url, 3, *RELAY_ARGS, "--call-relay-max", "2")
    await cluster.start()
    try:
        n0, n1, n2 = cluster.nodes
        room = await n0.create_room()
        bo, cy, di = [await n0.accept(room["invite"]["code"], name) for name in ("Bo", "Cy", "Di")]
        ana_id, bo_id, cy_id = room["member"], bo["member"], cy["member"]
        ana, _ = await RawClient.join(n0.ws_url, room["token"])
        bob, _ = await RawClient.join(n1.ws_url, bo["token"])
        cyc, _ = await RawClient.join(n2.ws_url, cy["token"])
        dic, _ = await RawClient.join(n2.ws_url, di["token"])  # in the room, not in the call

        await ana.send(CallJoin(audio=True, video=False))
        assert (await roster(ana, [ana_id], timeout=10)).mode == "relay"
        assert await _holder(redis_server.url, room["room"]) == "node0"
        await _knows_in_call(bob, {ana_id})
        await bob.send(CallJoin(audio=True, video=False))
        await roster(bob, [ana_id, bo_id], timeout=10)
        offer = await bob.expect(SignalRelay, timeout=20, from_="", kind="offer")  # from node 0
        assert offer.sdp
        await _knows_in_call(cyc, {ana_id, bo_id})
        await cyc.send(CallJoin(audio=True, video=False))
        await roster(cyc, [ana_id, bo_id, cy_id], timeout=10)

        # beyond call_relay_max, on node 2 (not the relay's): not_found, and no offer
        await cyc.send(Signal(to="", kind="bye"))
        err = await cyc.expect(Error, timeout=10)
        assert err.code == ErrorCode.NOT_FOUND and err.ref is None
        # not in the call at all
        await dic.send(Signal(to="", kind="answer", sdp="v=0\r\n"))
        err = await dic.expect(Error, timeout=10)
        assert err.code == ErrorCode.NOT_FOUND and err.ref is None

        # Bob takes the call to a tab on node 2: node 0's relay offers him there
        bob_tab, _ = await RawClient.join(n2.ws_url, bo["token"])
        await bob_tab.send(CallJoin(audio=True, video=False))
        await roster(bob_tab, [ana_id, bo_id, cy_id], timeout=10)
        offer = await bob_tab.expect(SignalRelay, timeout=20, from_="", kind="offer")
        assert offer.sdp
        await bob_tab.send(Signal(to="", kind="bye"))  # served: forwarded to node 0, no error
        await cyc.send(Signal(to="", kind="bye"))  # and the server keeps answering
        assert (await cyc.expect(Error, timeout=10)).code == ErrorCode.NOT_FOUND
        assert not [m for m in bob_tab.seen if isinstance(m, Error)]
        assert not [m for m in cyc.seen if isinstance(m, SignalRelay)]
        assert [n.workdir.name for n in cluster.nodes if PLACED in n.log_tail(2000)] == ["node0"]

        # the relay's node drains: another node takes the key; Ana is gone, so Cy is now
        # within the bound and gets the new relay's offer
        assert n0.proc is not None
        n0.proc.send_signal(signal.SIGTERM)
        assert await _holder(redis_server.url, room["room"], timeout=30, other_than="node0") in {"node1", "node2"}
        await roster(cyc, [bo_id, cy_id], timeout=30)
        offer = await cyc.expect(SignalRelay, timeout=30, from_="", kind="offer")
        assert offer.sdp
    finally:
        cluster.kill()
