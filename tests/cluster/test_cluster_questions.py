"""Questions and mentions across three nodes (SPEC section 16): asked on one node,
answered on another, closed from the third; every node's snapshot and every member's
folded view agree, and a refused op (a closed question) gets its code on any node."""

from __future__ import annotations

import asyncio

from protocol.errors import ErrorCode
from protocol.messages import Ack, Chat, Error, Event, QuestionAnswer, QuestionAsk, QuestionClose
from tests.integration.test_room_members import snapshot
from tests.support.cluster import Cluster
from tests.support.folding import View
from tests.support.raw import RawClient


async def test_ask_answer_close_across_nodes(cluster: Cluster) -> None:
    nodes = cluster.nodes
    room = await nodes[0].create_room(owner_name="Ana")
    ben = await nodes[1].accept(room["invite"]["code"], "Ben")
    cy = await nodes[2].accept(room["invite"]["code"], "Cy")
    clients: list[RawClient] = []
    views: list[View] = []
    for node, token in zip(nodes, (room["token"], ben["token"], cy["token"]), strict=True):
        client, welcome = await RawClient.join(node.ws_url, token)
        clients.append(client)
        views.append(View(welcome))
    ana_ws, ben_ws, cy_ws = clients

    async def acked(client: RawClient, body: object) -> int:
        ref = await client.op(body)
        return (await client.expect(Ack, ref=ref, timeout=20)).seq

    async def catch_up(i: int, seq: int) -> None:
        """Member i has folded every event up to ``seq`` (so has its node's replica)."""
        client, view = clients[i], views[i]
        for msg in list(client.seen):
            if isinstance(msg, Event) and msg.seq == view.state.seq + 1:
                view.fold(msg)
        while view.state.seq < seq:
            msg = await client.recv(timeout=20)
            if isinstance(msg, Event) and msg.seq == view.state.seq + 1:
                view.fold(msg)

    async with asyncio.timeout(60):
        # a node checks rules against its replica: each step waits until the actor's node has
        # folded what the step relies on (the joins, the question, the close)
        joined = max(v.state.seq for v in views)
        await catch_up(0, joined)
        question = await acked(ana_ws, QuestionAsk(to=[ben["member"], cy["member"]], text="M or L?"))
        await catch_up(1, question)
        await acked(ben_ws, QuestionAnswer(question=question, text="M"))
        await catch_up(2, question)
        await acked(cy_ws, Chat(text="@Ben agreed", mentions=[ben["member"]]))
        last = await acked(ana_ws, QuestionClose(question=question))
        await catch_up(2, last)
        ref = await cy_ws.op(QuestionAnswer(question=question, text="too late"))
        assert (await cy_ws.expect(Error, ref=ref, timeout=20)).code == ErrorCode.QUESTION_CLOSED
        await asyncio.gather(*(catch_up(i, last) for i in range(3)))
    for node in nodes:
        seq, state = await snapshot(node, room["room"], room["token"])
        assert seq == last
        for view in views:
            assert view.state == state
    [q] = views[0].state.questions
    assert q.closed and [(a.by, a.text) for a in q.answers] == [(ben["member"], "M")]
    assert views[1].state.chat[-1].mentions == [ben["member"]]
