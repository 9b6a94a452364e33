"""A member that stops reading is cut off (4008) while the room keeps going, and can resume.

The slow member is a bare socket that never reads (``StalledMember``, 64 KiB receive
buffer) and the server's send queue is small, so the 4008 is certain once enough bytes
flowed. The room must not wait for it: a healthy member receives every event, in order,
and the op→ack and op→delivery latencies while the slow member holds its socket unread
stay within a generous multiple of a baseline measured in the same test without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from dataclasses import dataclass, field

import httpx

from protocol.errors import CloseCode
from protocol.messages import Ack, Chat, Error, Event, Resume
from tests.support.raw import RawClient
from tests.support.server import ServerProcess
from tests.support.stalled_ws import StalledMember

TEXT = "z" * 1900  # ~2 KB per event: the kernel's buffers fill after a few thousand
WINDOW = 20  # ops the owner keeps in flight
BASELINE_OPS = 300
MAX_STALL_OPS = 8000  # ~16 MB: far beyond the kernel's loopback buffers (about 4 MB each way)
CHECK_EVERY = 50  # ops between looks at /metrics for the slow close


@dataclass
class Traffic:
    """The owner's ops and when they were sent, acked, and delivered to the healthy member."""

    sent_at: dict[str, float] = field(default_factory=dict)  # ref -> monotonic time
    ack_seq: dict[str, int] = field(default_factory=dict)
    ack_at: dict[str, float] = field(default_factory=dict)
    delivered_at: dict[int, float] = field(default_factory=dict)  # seq -> time at the healthy member
    delivered: list[int] = field(default_factory=list)  # seqs of chat events, as received
    acked: asyncio.Event = field(default_factory=asyncio.Event)  # set on every ack

    def latencies(self, refs: list[str]) -> tuple[list[float], list[float]]:
        """(op→ack, op→delivery at the healthy member) in seconds, for ``refs``."""
        to_ack = [self.ack_at[r] - self.sent_at[r] for r in refs]
        to_delivery = [self.delivered_at[self.ack_seq[r]] - self.sent_at[r] for r in refs]
        return to_ack, to_delivery


async def read_owner(owner: RawClient, t: Traffic) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            msg = await owner.recv(timeout=60)
            owner.seen.clear()  # its own events: not kept
            assert not isinstance(msg, Error), msg
            if isinstance(msg, Ack):
                t.ack_seq[msg.ref] = msg.seq
                t.ack_at[msg.ref] = time.monotonic()
                t.acked.set()


async def read_healthy(member: RawClient, t: Traffic) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            msg = await member.recv(timeout=60)
            member.seen.clear()
            if isinstance(msg, Event) and isinstance(msg.op, Chat):
                t.delivered_at[msg.seq] = time.monotonic()
                t.delivered.append(msg.seq)


async def send_ops(owner: RawClient, t: Traffic, refs: list[str]) -> None:
    """Send ``refs`` as chats, at most WINDOW un-acked at a time, and wait for every ack."""
    for ref in refs:
        while len(t.sent_at) - len(t.ack_at) >= WINDOW:
            t.acked.clear()
            await asyncio.wait_for(t.acked.wait(), 20)
        t.sent_at[ref] = time.monotonic()
        await owner.op(Chat(text=TEXT), ref=ref)
    async with asyncio.timeout(20):
        while not all(r in t.ack_at for r in refs):
            t.acked.clear()
            await t.acked.wait()


async def wait_delivered(t: Traffic, refs: list[str], timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not all(t.ack_seq[r] in t.delivered_at for r in refs):
            await asyncio.sleep(0.01)  # polling a dict another task fills, bounded


async def slow_closes(server: ServerProcess) -> int:
    async with httpx.AsyncClient() as http:
        text = (await http.get(server.http_url + "/metrics", timeout=5)).text
    return int(
        float(next(line.split()[1] for line in text.splitlines() if line.startswith("cosession_slow_closes_total ")))
    )


def p50(values: list[float]) -> float:
    return statistics.median(values)


async def test_slow_consumer_is_closed_and_room_keeps_flowing(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = await server_factory(
        "--send-queue-bytes", "65536", "--slow-close-grace", "60", "--ops-per-second", "100000", "--ops-burst", "100000"
    )
    room = await server.create_room()
    healthy_member = await server.accept(room["invite"]["code"], "Fast")
    slow_member = await server.accept(room["invite"]["code"], "Slow")
    owner, _ = await RawClient.join(server.ws_url, room["token"])
    healthy, _ = await RawClient.join(server.ws_url, healthy_member["token"])
    t = Traffic()
    readers = [asyncio.create_task(read_owner(owner, t)), asyncio.create_task(read_healthy(healthy, t))]
    try:
        # 1. baseline: the same ops, nobody stalled
        baseline = [f"b{i}" for i in range(BASELINE_OPS)]
        await send_ops(owner, t, baseline)
        await wait_delivered(t, baseline)
        base_ack, base_delivery = t.latencies(baseline)

        # 2. the slow member joins, then never reads; the owner keeps chatting until the
        #    server has cut it off (checked on /metrics), bounded
        slow, slow_welcome = await StalledMember.join(server.port, slow_member["token"])
        assert await slow_closes(server) == 0
        stall: list[str] = []
        while await slow_closes(server) == 0:
            assert len(stall) < MAX_STALL_OPS, f"no slow-consumer close after {len(stall)} ops of {len(TEXT)} B"
            batch = [f"s{len(stall) + i}" for i in range(CHECK_EVERY)]
            await send_ops(owner, t, batch)
            stall += batch
        await wait_delivered(t, stall)
        stall_ack, stall_delivery = t.latencies(stall)

        # 3. the healthy member got every event, in order, while the slow one sat unread
        assert t.delivered == sorted(t.ack_seq[r] for r in baseline + stall)
        # ... and the room did not wait: generous bounds, relative to the baseline
        for during, before in ((stall_ack, base_ack), (stall_delivery, base_delivery)):
            assert p50(during) <= 5 * p50(before) + 0.05, (p50(during), p50(before))
            assert max(during) <= 20 * max(before) + 2.0, (max(during), max(before))
    finally:
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)

    # 4. the slow member now reads: everything delivered before the close, in order, then 4008
    try:
        assert await slow.read_until_close(timeout=30) == CloseCode.SLOW_CONSUMER
    finally:
        slow.close()
    seen = [m.seq for m in slow.messages if isinstance(m, Event)]
    assert seen == list(range(slow_welcome.seq + 1, slow_welcome.seq + 1 + len(seen)))
    assert 0 < len(seen) < len(stall)

    # 5. resuming from where it stopped replays the rest without a gap (fewer missed than
    #    the 1,000-event history window: the owner stopped within CHECK_EVERY ops)
    position = seen[-1]
    again, welcome = await RawClient.join(
        server.ws_url, slow_member["token"], resume=Resume(epoch=slow_welcome.epoch, seq=position), max_size=None
    )
    assert welcome.recovered, (position, welcome.seq)
    assert [e.seq for e in welcome.events] == list(range(position + 1, welcome.seq + 1))
    assert welcome.seq >= t.ack_seq[stall[-1]]
    await again.close()
