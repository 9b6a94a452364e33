"""Call signaling across nodes: participants on different nodes see one roster, signals
reach the addressee's call connection on its node, in order, and only there."""

from __future__ import annotations

import asyncio

from protocol.errors import ErrorCode
from protocol.messages import CallInfo, CallJoin, CallLeave, CallStart, Error, Event, Signal, SignalRelay
from tests.support.calls import SDP, call_event, joined_times, roster, roster_order
from tests.support.cluster import Cluster
from tests.support.raw import RawClient


async def test_signals_cross_nodes_to_the_call_connection(cluster: Cluster) -> None:
    n0, n1, n2 = cluster.nodes
    room = await n0.create_room()
    bo = await n1.accept(room["invite"]["code"], "Bo")
    cy = await n2.accept(room["invite"]["code"], "Cy")
    ana_id, bo_id, cy_id = room["member"], bo["member"], cy["member"]
    ana, _ = await RawClient.join(n0.ws_url, room["token"])
    bob, _ = await RawClient.join(n1.ws_url, bo["token"])
    bob_tab, _ = await RawClient.join(n2.ws_url, bo["token"])  # another tab, another node
    cyc, _ = await RawClient.join(n2.ws_url, cy["token"])

    # Ana and Bob join at the same moment on two nodes: each node hears of its own
    # participant first, yet both send one order (SPEC 14.2: joined, then member id)
    await asyncio.gather(ana.send(CallJoin(audio=True, video=True)), bob.send(CallJoin(audio=True, video=False)))
    order = roster_order(await joined_times(cyc, {ana_id, bo_id}))
    await roster(ana, order, timeout=10)
    await roster(bob, order, timeout=10)
    for client in (ana, bob):  # no roster on the way listed them the other way round
        assert all(m.members == order for m in client.seen if isinstance(m, CallInfo) and len(m.members) == 2)

    await ana.send(Signal(to=bo_id, kind="offer", sdp=SDP))
    for i in range(30):
        await ana.send(Signal(to=bo_id, kind="candidate", candidate=f"candidate:{i}"))
    assert (await bob.expect(SignalRelay, timeout=10)) == SignalRelay(from_=ana_id, kind="offer", sdp=SDP)
    for i in range(30):
        assert (await bob.expect(SignalRelay, timeout=10)).candidate == f"candidate:{i}"
    await bob.send(Signal(to=ana_id, kind="answer", sdp=SDP))
    assert (await ana.expect(SignalRelay, timeout=10)).from_ == bo_id

    # not in the call (on a third node): refused both ways; the other tab got nothing
    await ana.send(Signal(to=cy_id, kind="bye"))
    assert (await ana.expect(Error, timeout=10)).code == ErrorCode.NOT_FOUND
    await cyc.send(Signal(to=ana_id, kind="bye"))
    assert (await cyc.expect(Error, timeout=10)).code == ErrorCode.NOT_FOUND
    assert not [m for m in bob_tab.seen if isinstance(m, SignalRelay)]

    # one call.start in the log, seen on every node
    start = await call_event(cyc, "call.start", timeout=10)  # by the node that saw the call start
    assert start.op in (CallStart(member=ana_id, video=True), CallStart(member=bo_id, video=False))

    # the call moves to the tab on node 2: signals follow it there
    await bob_tab.send(CallJoin(audio=True, video=False))
    await roster(bob_tab, order, timeout=10)  # same place in the roster: joined is kept
    for _ in range(50):  # node 1 learns of the move through presence
        await ana.send(Signal(to=bo_id, kind="bye"))
        got = await bob_tab.expect(SignalRelay, timeout=10)
        if got.kind == "bye":
            break
    await bob_tab.send(CallLeave())
    await ana.send(CallLeave())
    await call_event(cyc, "call.end", timeout=10)
    starts = [m for m in cyc.seen if isinstance(m, Event) and isinstance(m.op, CallStart)]
    assert len(starts) == 1
