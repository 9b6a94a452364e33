"""Two members on two nodes join a call at the same moment: both nodes send one roster
order (SPEC 14.2), so exactly one of them offers, and the aiortc mesh call connects with
audio both ways and a data-channel round trip."""

from __future__ import annotations

import asyncio

from cosession_client.call import Call
from cosession_client.client import RoomClient
from cosession_client.subscription import Subscription
from protocol.messages import CallInfo
from tests.support.cluster import Cluster
from tests.support.loopback_ice import loopback_only

FRAMES = 25  # half a second of 20 ms audio frames


async def _rosters(messages: Subscription, out: list[list[str]]) -> None:
    async with messages:
        async for msg in messages:
            if isinstance(msg, CallInfo):
                out.append(list(msg.members))


async def test_simultaneous_joins_on_two_nodes_agree_and_connect(cluster: Cluster) -> None:
    n0, n1, _ = cluster.nodes
    room = await n0.create_room()
    bo = await n1.accept(room["invite"]["code"], "Bo")
    ana = await RoomClient.connect(room["token"], server=n0.http_url)
    bob = await RoomClient.connect(bo["token"], server=n1.http_url)
    seen: dict[str, list[list[str]]] = {ana.member: [], bob.member: []}
    watchers = [asyncio.create_task(_rosters(c.messages(), seen[c.member])) for c in (ana, bob)]
    with loopback_only():
        a, b = Call(ana, ice_servers=[]), Call(bob, ice_servers=[])
        try:
            await asyncio.gather(a.join(), b.join())  # both call.join frames leave at once
            await a.wait_for(lambda: len(a.members) == 2)
            await b.wait_for(lambda: len(b.members) == 2)
            assert a.members == b.members
            assert await a.wait_frames(bob.member, "audio", FRAMES) >= FRAMES
            assert await b.wait_frames(ana.member, "audio", FRAMES) >= FRAMES
            await b.send_data(ana.member, "see the shelf?")
            async with asyncio.timeout(10):
                assert await a.data.get() == (bob.member, "see the shelf?")
            assert a.errors == [] and b.errors == []
            # every roster on the way (one member, then both) agreed with the final order
            for rosters in seen.values():
                assert rosters and all(r == a.members for r in rosters if len(r) == 2)
            calls = {m: p.call for m, p in ana.presence.items() if p.call is not None}
            assert a.members == sorted(calls, key=lambda m: (calls[m].joined, m))  # type: ignore[union-attr]
        finally:
            await a.leave()
            await b.leave()
            for task in watchers:
                task.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
            await ana.close()
            await bob.close()
