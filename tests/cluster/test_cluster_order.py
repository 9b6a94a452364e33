"""Three nodes, one room, members on every node: same events, same order, same state."""

from __future__ import annotations

import asyncio

from protocol.messages import Event
from tests.integration.test_room_members import drain, member_session, snapshot
from tests.support.cluster import Cluster
from tests.support.folding import View
from tests.support.raw import RawClient


async def test_members_on_three_nodes_see_one_order(cluster: Cluster) -> None:
    nodes = cluster.nodes
    room = await nodes[0].create_room()
    tokens = [room["token"]]
    for i in range(5):
        tokens.append((await nodes[i % 3].accept(room["invite"]["code"], f"Friend {i}"))["token"])
    clients: list[RawClient] = []
    views: list[View] = []
    for i, token in enumerate(tokens):
        client, welcome = await RawClient.join(nodes[i % 3].ws_url, token, fmt="json" if i % 2 else "msgpack")
        clients.append(client)
        views.append(View(welcome))
    start = max(v.state.seq for v in views)
    for client, view in zip(clients, views, strict=True):
        while view.state.seq < start:
            msg = await client.recv(timeout=10)
            if isinstance(msg, Event):
                view.fold(msg)
        view.events = []
    async with asyncio.timeout(120):
        acked = await asyncio.gather(
            *(member_session(c, v, 20, seed=i) for i, (c, v) in enumerate(zip(clients, views, strict=True)))
        )
        all_acked = sorted(s for seqs in acked for s in seqs)
        final = max([start, *all_acked])
        await asyncio.gather(*(drain(c, v, final) for c, v in zip(clients, views, strict=True)))
    assert len(set(all_acked)) == len(all_acked)
    assert all_acked == list(range(start + 1, final + 1))
    for node in nodes:
        seq, state = await snapshot(node, room["room"], room["token"])
        assert seq == final
        for view in views:
            assert view.state == state
    reference = [(e.seq, e.by, e.op) for e in views[0].events]
    for view in views:
        assert [(e.seq, e.by, e.op) for e in view.events] == reference
