"""A burst of chat ops from members spread over the nodes, with the real Python client
(reconnect, resume, idempotent retry), and the checks every fault test ends with.

A fault test does not strike after a fixed sleep (on a fast machine the burst may be over
by then): the bursts write their ops in pipelined chunks and beat a ``Pulse`` after each
chunk, and ``when_in_flight`` returns at the first beat at which enough ops are written
and not yet acked. The caller strikes right after it returns (no ``await`` in between, so
nothing is acked meanwhile) and asserts on the count it returned.
"""

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
    submitted: int = 0  # ops handed to the client so far


def unacked(members: list[Member]) -> int:
    """Ops of ``members`` written to a socket whose ack has not arrived (the client's own
    bookkeeping, ``RoomClient.in_flight``)."""
    return sum(m.client.in_flight for m in members)


class Pulse:
    """Beaten by the bursts after each chunk they wrote and when they end."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def beat(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        await self._event.wait()
        self._event.clear()


@dataclass
class InFlight:
    """What ``when_in_flight`` saw at the moment it returned (the moment of the fault)."""

    unacked: int  # of the watched members: written, not acked
    submitted: int  # by every member
    total: int  # every member's whole burst


async def when_in_flight(
    pulse: Pulse,
    members: list[Member],
    watched: list[Member],
    bursts: list[asyncio.Task[None]],
    total: int,
    *,
    submitted: int,
    in_flight: int,
    timeout: float = 60.0,
) -> InFlight:
    """Wait (beat by beat, bounded) until ``members`` have handed at least ``submitted``
    ops to their clients and at least ``in_flight`` ops of ``watched`` are written and
    un-acked; fails if the bursts end first. Strike right after it returns."""
    async with asyncio.timeout(timeout):
        while True:
            now = InFlight(unacked(watched), sum(m.submitted for m in members), total)
            if now.submitted >= submitted and now.unacked >= in_flight:
                return now
            if all(b.done() for b in bursts):
                raise AssertionError(f"the bursts ended before {in_flight} ops were in flight: {now}")
            await pulse.wait()


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


async def burst(
    member: Member, label: str, count: int, pause: float = 0.01, *, chunk: int = 1, pulse: Pulse | None = None
) -> None:
    """Send ``count`` chat ops, ``chunk`` at a time written back to back, ``pause`` between
    chunks, without waiting for acks; record acks and rejections. Beats ``pulse`` after
    each chunk and at the end."""

    async def one(text: str) -> None:
        try:
            member.acked[text] = await member.client.chat(text)
        except OpRejected:
            member.rejected.append(text)

    tasks = []
    try:
        for start in range(0, count, chunk):
            for i in range(start, min(count, start + chunk)):
                member.submitted += 1
                tasks.append(asyncio.create_task(one(f"{label}-{i}")))
            await asyncio.sleep(0)  # the chunk's submits run to their first real wait: written
            if pulse is not None:
                pulse.beat()
            await asyncio.sleep(pause)
        await asyncio.gather(*tasks)
    finally:
        if pulse is not None:
            pulse.beat()


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
