"""A burst of chat ops from members spread over the nodes, with the real Python client
(reconnect, resume, idempotent retry), and the checks every fault test ends with."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from cosession_client import OpRejected, RoomClient
from tests.support.cluster import Cluster


@dataclass
class Member:
    client: RoomClient
    node: int
    acked: dict[str, int] = field(default_factory=dict)  # text -> seq
    rejected: list[str] = field(default_factory=list)


async def join_members(cluster: Cluster, count: int) -> tuple[dict[str, str], list[Member]]:
    nodes = cluster.nodes
    room = await nodes[0].create_room()
    members = []
    for i in range(count):
        node = i % len(nodes)
        token = room["token"] if i == 0 else (await nodes[node].accept(room["invite"]["code"], f"M{i}"))["token"]
        client = await RoomClient.connect(token, server=nodes[node].http_url, backoff=(0.05, 1.0), op_timeout=60)
        members.append(Member(client, node))
    return room, members


async def burst(member: Member, label: str, count: int, pause: float = 0.01) -> None:
    """Send ``count`` chat ops, a few in flight at a time; record acks and rejections."""

    async def one(text: str) -> None:
        try:
            member.acked[text] = await member.client.chat(text)
        except OpRejected:
            member.rejected.append(text)

    tasks = []
    for i in range(count):
        tasks.append(asyncio.create_task(one(f"{label}-{i}")))
        await asyncio.sleep(pause)
    await asyncio.gather(*tasks)


async def converge(members: list[Member], timeout: float = 60.0) -> None:
    """Every acked op is in every member's state exactly once, and all states are equal."""
    head = max(seq for m in members for seq in m.acked.values())
    async with asyncio.timeout(timeout):
        await asyncio.gather(*(m.client.wait_for_seq(head, timeout=timeout) for m in members))
        # the newest position anyone has (events after the last ack: joins, re-seeds)
        top = max(m.client.seq for m in members)
        await asyncio.gather(*(m.client.wait_for_seq(top, timeout=timeout) for m in members))
    reference = members[0].client.state
    for i, m in enumerate(members):
        state = m.client.state
        if state != reference:
            ours = [(c.id, c.text) for c in state.chat]
            theirs = [(c.id, c.text) for c in reference.chat]
            diff = [(a, b) for a, b in zip(ours, theirs, strict=False) if a != b][:5]
            raise AssertionError(
                f"member {i} (epoch {m.client.epoch}, seq {state.seq}) differs from member 0 "
                f"(epoch {members[0].client.epoch}, seq {reference.seq}): first differences {diff}, "
                f"lengths {len(ours)} vs {len(theirs)}"
            )
    texts = Counter(msg.text for msg in reference.chat)
    for m in members:
        for text in m.acked:
            assert texts[text] == 1, f"acked op {text!r} appears {texts[text]} times"
    assert all(count == 1 for count in texts.values()), "an op was applied twice"


async def close_all(members: list[Member]) -> None:
    await asyncio.gather(*(m.client.close() for m in members), return_exceptions=True)
