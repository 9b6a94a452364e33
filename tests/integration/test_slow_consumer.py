"""A member that stops reading is cut off (4008) while the room keeps going, and can resume."""

from __future__ import annotations

import asyncio
import socket

from protocol.errors import CloseCode
from protocol.messages import Ack, Chat, Event, Resume
from tests.support.raw import RawClient
from tests.support.server import ServerProcess


def tiny_socket(port: int) -> socket.socket:
    """A client socket with a small receive buffer, so the server's backlog builds up.

    Not smaller than 64 KB: on loopback the MSS is ~64 KB, and with a receive buffer far
    below it the receiver never reopens its window by a full segment (receive-side silly
    window avoidance), so a sender that wrote large chunks waits on zero-window probes
    with exponential backoff — a stall of the test's own making once the server corks
    its writes (docs/backpressure.md)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


async def test_slow_consumer_is_closed_and_room_keeps_flowing(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = await server_factory(
        "--send-queue-bytes", "65536", "--slow-close-grace", "60", "--ops-per-second", "100000", "--ops-burst", "100000"
    )
    room = await server.create_room()
    fast_member = await server.accept(room["invite"]["code"], "Fast")
    slow_member = await server.accept(room["invite"]["code"], "Slow")
    owner, _ = await RawClient.join(server.ws_url, room["token"])
    fast, _ = await RawClient.join(server.ws_url, fast_member["token"])
    slow, slow_welcome = await RawClient.join(
        server.ws_url, slow_member["token"], sock=tiny_socket(server.port), max_queue=1
    )
    # the slow member now stops reading while the owner chats
    text = "z" * 1900
    count = 3000  # ~5.7 MB: more than the kernel's loopback send buffer (4 MB) can hide
    received: list[int] = []

    async def read_fast() -> None:
        while len(received) < count:
            msg = await fast.recv(timeout=20)
            if isinstance(msg, Event) and isinstance(msg.op, Chat):
                received.append(msg.seq)

    reader = asyncio.create_task(read_fast())
    last_ack = 0
    window: list[str] = []
    for i in range(count):
        window.append(await owner.op(Chat(text=text), ref=f"c{i}"))
        if len(window) >= 50:  # keep a bounded number in flight
            last_ack = (await owner.expect(Ack, ref=window[-1], timeout=20)).seq
            window.clear()
    if window:
        last_ack = (await owner.expect(Ack, ref=window[-1], timeout=20)).seq
    async with asyncio.timeout(30):
        await reader
    assert len(received) == count and received == sorted(received)
    # now the slow member reads: it finds what was buffered, then the 4008 close
    assert await slow.closed_with(timeout=20) == CloseCode.SLOW_CONSUMER
    seen = [m.seq for m in slow.seen if isinstance(m, Event)]
    assert len(seen) < count
    # and resuming from where it stopped brings it up to date without a gap
    position = seen[-1] if seen else slow_welcome.seq
    again, welcome = await RawClient.join(  # a replay of up to 1,000 chats of 1.9 KB: ~1.9 MB
        server.ws_url, slow_member["token"], resume=Resume(epoch=slow_welcome.epoch, seq=position), max_size=None
    )
    if welcome.recovered:
        assert [e.seq for e in welcome.events] == list(range(position + 1, welcome.seq + 1))
    else:
        assert welcome.snapshot is not None
    assert welcome.seq >= last_ack
    await again.close()
