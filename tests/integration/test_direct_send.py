"""Pre-framed direct writes and bounded outboxes, on a real uvicorn server and real sockets.

Each test runs a tiny Starlette app on ``uvicorn.Server`` inside the test's event loop
(127.0.0.1, a kernel-chosen port), with ``ws=DirectWebSocketProtocol`` unless it tests
the fallback, and talks to it with the ``websockets`` asyncio client.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
import uvloop
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError

from cosession.gateway.framing import OutFrame
from cosession.gateway.outbox import AsgiOutbox, DirectOutbox, Outbox, open_outbox
from cosession.gateway.uvicorn_direct import DirectWebSocketProtocol, direct_channel
from protocol.errors import CloseCode

WAIT = 10.0  # seconds: bound on every wait in these tests
BIG_LIMIT = 64 << 20

# "direct": DirectWebSocketProtocol, outbox picked from the scope (DirectOutbox).
# "asgi": DirectWebSocketProtocol, but the app forces AsgiOutbox.
# "fallback": uvicorn's own sans-I/O protocol, no extension: open_outbox picks AsgiOutbox.
MODES = ["direct", "asgi", "fallback"]
EXPECTED_OUTBOX = {"direct": "DirectOutbox", "asgi": "AsgiOutbox", "fallback": "AsgiOutbox"}


@dataclass
class Probe:
    """What the server-side app observed, for the test to assert on."""

    outbox: str = ""
    overflows: int = 0
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)
    pushed: int = 0
    push_after_overflow: bool | None = None
    disconnect: MutableMapping[str, Any] | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def on_overflow(self) -> None:
        self.overflows += 1
        self.overflowed.set()


Endpoint = Callable[[WebSocket], Awaitable[None]]


def make_outbox(ws: WebSocket, mode: str, probe: Probe, limit: int, **kw: Any) -> Outbox:
    outbox: Outbox
    if mode == "asgi":
        outbox = AsgiOutbox(ws.send, limit, probe.on_overflow)
    else:
        outbox = open_outbox(ws.scope, ws.send, limit_bytes=limit, on_overflow=probe.on_overflow, **kw)
    probe.outbox = type(outbox).__name__
    return outbox


async def wait_disconnect(ws: WebSocket, probe: Probe) -> None:
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            probe.disconnect = message
            return


async def finish(outbox: Outbox, probe: Probe) -> None:
    await outbox.aclose()
    assert outbox.closed
    probe.done.set()


@contextlib.asynccontextmanager
async def running(app: Any, mode: str = "direct") -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 and a free port; yield the ws:// base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    ws_impl: Any = "websockets-sansio" if mode == "fallback" else DirectWebSocketProtocol
    config = uvicorn.Config(app, ws=ws_impl, lifespan="off", log_level="warning", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(WAIT):
            # server.started is a plain flag, nothing to await: poll it.
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("uvicorn exited during startup")
                await asyncio.sleep(0.005)
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(WAIT):
            await task
        sock.close()


def app_with(endpoint: Endpoint) -> Starlette:
    return Starlette(routes=[WebSocketRoute("/ws", endpoint)])


def numbered_payload(i: int, size: int) -> bytes:
    unit = f"{i:06d}|".encode()
    return (unit * (size // len(unit) + 1))[:size]


def noise_payload(i: int, size: int) -> bytes:
    """Incompressible (so permessage-deflate on the fallback path cannot shrink it) and numbered."""
    return i.to_bytes(4, "big") + random.Random(i).randbytes(size - 4)


def client_socket(rcvbuf: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Before connect(), so that the advertised window stays small.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    return sock


async def connect_slow(url: str) -> ClientConnection:
    """A client that buffers as little as it can: tiny receive buffer, 1-frame queue."""
    sock = client_socket(4096)
    port = int(url.rsplit(":", 1)[1])
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return await connect(f"{url}/ws", sock=sock, max_queue=1, max_size=None)


# --------------------------------------------------------------------------------------
# (a) frames arrive intact and in order, including frames over 64 KiB

SIZES = [0, 1, 125, 126, 127, 65535, 65536, 70_000, 200_000, 1 << 20]


async def scenario_in_order(mode: str) -> None:
    probe = Probe()
    frames = [OutFrame(numbered_payload(i, size), text=(i % 2 == 1)) for i, size in enumerate(SIZES + SIZES[::-1])]

    async def endpoint(ws: WebSocket) -> None:
        await ws.accept()
        outbox = make_outbox(ws, mode, probe, BIG_LIMIT)
        # All pushes happen without a single await in between.
        probe.pushed = sum(outbox.push(frame) for frame in frames)
        outbox.close(CloseCode.NORMAL, "done")
        await wait_disconnect(ws, probe)
        await finish(outbox, probe)

    async with (
        running(app_with(endpoint), mode) as url,
        asyncio.timeout(WAIT),
        connect(f"{url}/ws", max_size=None) as client,
    ):
        received = [await client.recv() for _ in frames]
        with pytest.raises(ConnectionClosed):
            await client.recv()
        extensions = client.protocol.extensions
        assert client.close_code == CloseCode.NORMAL
        assert client.close_reason == "done"
        await probe.done.wait()

    assert probe.outbox == EXPECTED_OUTBOX[mode]
    assert probe.pushed == len(frames)
    assert len(received) == len(frames)
    for frame, message in zip(frames, received, strict=True):
        if frame.text:
            assert message == frame.payload.decode()
        else:
            assert message == frame.payload
    assert probe.overflows == 0
    if mode == "fallback":
        # Plain uvicorn negotiates permessage-deflate; the ASGI path copes with it.
        assert [e.name for e in extensions] == ["permessage-deflate"]
    else:
        # The client offered permessage-deflate; the direct protocol never accepts it.
        assert extensions == []


@pytest.mark.parametrize("mode", MODES)
async def test_frames_arrive_intact_and_in_order(mode: str) -> None:
    await scenario_in_order(mode)


# --------------------------------------------------------------------------------------
# (b) a client that stops reading overflows its outbox and is closed with 4008

FLOOD_FRAME = 64 << 10
FLOOD_TOTAL = 20 << 20
FLOOD_LIMIT = 1 << 20


async def scenario_slow_consumer(mode: str) -> None:
    probe = Probe()
    count = FLOOD_TOTAL // FLOOD_FRAME

    async def endpoint(ws: WebSocket) -> None:
        await ws.accept()
        outbox = make_outbox(ws, mode, probe, FLOOD_LIMIT, slow_abort_after=WAIT)
        for i in range(count):
            if not outbox.push(OutFrame(noise_payload(i, FLOOD_FRAME))):
                break
            probe.pushed += 1
            # Let the event loop run (the transport flushes, the writer task sends), as
            # it would between broadcasts.
            await asyncio.sleep(0)
        probe.notes["closed_after_overflow"] = outbox.closed
        probe.push_after_overflow = outbox.push(OutFrame(b"late"))
        await wait_disconnect(ws, probe)
        await finish(outbox, probe)

    async with running(app_with(endpoint), mode) as url:
        async with asyncio.timeout(WAIT):
            client = await connect_slow(url)
            try:
                # Not reading: wait until the server gives up on us.
                await probe.overflowed.wait()
                received = 0
                expected = 0
                with pytest.raises(ConnectionClosedError) as closed:
                    while True:
                        message = await client.recv()
                        assert message == noise_payload(expected, FLOOD_FRAME)
                        expected += 1
                        received += len(message)
            finally:
                await client.close()
            await probe.done.wait()

    assert probe.outbox == EXPECTED_OUTBOX[mode]
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == CloseCode.SLOW_CONSUMER
    assert closed.value.rcvd.reason == "slow consumer"
    assert probe.overflows == 1
    assert probe.notes["closed_after_overflow"] is True
    assert probe.push_after_overflow is False
    assert 0 < probe.pushed < count
    # The client saw an in-order prefix of what was pushed, never more.
    assert received <= probe.pushed * FLOOD_FRAME
    assert received < FLOOD_TOTAL
    assert probe.disconnect is not None


@pytest.mark.parametrize("mode", MODES)
async def test_slow_consumer_overflows_and_gets_4008(mode: str) -> None:
    await scenario_slow_consumer(mode)


async def test_slow_consumer_that_never_reads_is_aborted() -> None:
    """After an overflow, a client that never reads is cut off by the abort timer."""
    probe = Probe()
    abort_after = 0.3
    loop = asyncio.get_running_loop()

    class Endpoint:  # a class, so that Starlette treats it as a raw ASGI app
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await raw_endpoint(scope, receive, send)

    async def raw_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        ws = WebSocket(scope, receive, send)
        await ws.accept()
        channel = direct_channel(scope)
        assert channel is not None
        outbox = DirectOutbox(channel, FLOOD_LIMIT, probe.on_overflow, slow_abort_after=abort_after)
        for i in range(FLOOD_TOTAL // FLOOD_FRAME):
            if not outbox.push(OutFrame(numbered_payload(i, FLOOD_FRAME))):
                break
            await asyncio.sleep(0)
        started = loop.time()
        # The raw ASGI receive: first the disconnect queued by the close, then the one
        # uvicorn queues when the transport is really gone (connection_lost).
        first = await receive()
        second = await receive()
        probe.notes.update(first=first, second=second, lost_after=loop.time() - started)
        probe.notes["buffered_at_loss"] = channel.buffered()
        probe.done.set()

    app = Starlette(routes=[WebSocketRoute("/ws", Endpoint())])
    async with running(app) as url:
        async with asyncio.timeout(WAIT):
            client = await connect_slow(url)
            try:
                await probe.done.wait()
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        await client.recv()
            finally:
                await client.close()

    assert probe.overflows == 1
    assert probe.notes["first"]["code"] == CloseCode.SLOW_CONSUMER
    assert probe.notes["second"]["type"] == "websocket.disconnect"
    assert abort_after * 0.9 <= probe.notes["lost_after"] < WAIT
    # The reset discarded what the client had not read: it never saw the close frame.
    assert closed.value.rcvd is None


# --------------------------------------------------------------------------------------
# (c) incoming messages still reach the app via receive


@pytest.mark.parametrize("mode", ["direct", "fallback"])
async def test_client_messages_reach_app_and_echo_through_outbox(mode: str) -> None:
    probe = Probe()

    async def endpoint(ws: WebSocket) -> None:
        await ws.accept()
        outbox = make_outbox(ws, mode, probe, BIG_LIMIT)
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                probe.disconnect = message
                break
            if message.get("text") is not None:
                outbox.push(OutFrame(b"echo:" + message["text"].encode(), text=True))
            else:
                outbox.push(OutFrame(b"echo:" + message["bytes"]))
            # Unsolicited frames interleave with the echoes.
            outbox.push(OutFrame(b"tick", text=True))
        await finish(outbox, probe)

    big = "🛒" * 50_000
    async with running(app_with(endpoint), mode) as url:
        async with asyncio.timeout(WAIT):
            async with connect(f"{url}/ws", max_size=None) as client:
                for i in range(5):
                    await client.send(f"ping:{i}")
                    assert await client.recv() == f"echo:ping:{i}"
                    assert await client.recv() == "tick"
                await client.send(b"\x00\x01binary")
                assert await client.recv() == b"echo:\x00\x01binary"
                assert await client.recv() == "tick"
                await client.send(big)
                assert await client.recv() == "echo:" + big
                assert await client.recv() == "tick"
            await probe.done.wait()

    assert probe.outbox == EXPECTED_OUTBOX[mode]
    assert probe.disconnect is not None and probe.disconnect["code"] == CloseCode.NORMAL


# --------------------------------------------------------------------------------------
# (d) DirectChannel.close sends a proper close frame


@pytest.mark.parametrize("then", ["close", "send"])
async def test_direct_channel_close(then: str) -> None:
    probe = Probe()
    reason = "kicked by the owner " + "é" * 100  # 220 bytes of UTF-8: truncated to 123

    async def endpoint(ws: WebSocket) -> None:
        channel = direct_channel(ws.scope)
        assert channel is not None
        try:
            channel.write(OutFrame(b"too early").wire)
        except RuntimeError:
            probe.notes["early_write_refused"] = True
        await ws.accept()
        assert not channel.closed
        channel.write(OutFrame(b"before close").wire)
        channel.close(CloseCode.FORBIDDEN, reason)
        probe.notes["closed"] = channel.closed
        channel.write(OutFrame(b"after close").wire)  # ignored
        channel.close(CloseCode.NORMAL)  # ignored
        message = await ws.receive()
        probe.disconnect = message
        if then == "close":
            await ws.close()  # a no-op once the channel closed the connection
            probe.notes["app_close_ok"] = True
        else:
            try:
                await ws.send_text("late")
            except WebSocketDisconnect:
                probe.notes["late_send_refused"] = True
        probe.done.set()

    async with running(app_with(endpoint)) as url:
        async with asyncio.timeout(WAIT):
            async with connect(f"{url}/ws") as client:
                assert await client.recv() == b"before close"
                with pytest.raises(ConnectionClosedError) as closed:
                    await client.recv()
                await client.wait_closed()
            await probe.done.wait()

    rcvd = closed.value.rcvd
    assert rcvd is not None
    assert rcvd.code == CloseCode.FORBIDDEN
    assert reason.startswith(rcvd.reason)
    assert 120 < len(rcvd.reason.encode()) <= 123
    assert probe.notes["early_write_refused"] is True
    assert probe.notes["closed"] is True
    assert probe.disconnect is not None
    assert probe.disconnect["type"] == "websocket.disconnect"
    assert probe.disconnect["code"] == CloseCode.FORBIDDEN
    if then == "close":
        assert probe.notes["app_close_ok"] is True
    else:
        assert probe.notes["late_send_refused"] is True


# --------------------------------------------------------------------------------------
# (e) DirectOutbox corks the frames of one event-loop step into one transport write


class CountingChannel:
    """The real channel, counting the writes that reach its transport."""

    def __init__(self, channel: Any) -> None:
        self.channel = channel
        self.writes: list[int] = []

    @property
    def closed(self) -> bool:
        return bool(self.channel.closed)

    def buffered(self) -> int:
        return int(self.channel.buffered())

    def write(self, data: bytes) -> None:
        self.writes.append(len(data))
        self.channel.write(data)

    def close(self, code: int, reason: str = "", abort_after: float | None = None) -> None:
        self.channel.close(code, reason, abort_after=abort_after)


async def scenario_corking(then: str) -> None:
    """Frames pushed in one loop step leave in one write, in order; a close in the same
    step sends them first. ``big_step``: a step that corks more than the limit is handed
    to the kernel early, and a client that keeps reading is never cut off for it."""
    probe = Probe()
    steps = [
        [f"step0-{i:02d}".encode() for i in range(50)],
        [b"step1-only"],
        [f"step2-{i}".encode() + b"z" * 600 for i in range(3)],
    ]
    sizes = [[len(OutFrame(p).wire) for p in frames] for frames in steps]

    async def endpoint(ws: WebSocket) -> None:
        await ws.accept()
        channel = direct_channel(ws.scope)
        assert channel is not None
        counting = CountingChannel(channel)
        # "big_step": step 0 (500 bytes) fits in 1,000; step 2's three 612-byte frames do not
        limit = 10 << 20 if then == "close" else 1_000
        outbox = DirectOutbox(counting, limit, probe.on_overflow)  # type: ignore[arg-type]
        for i, frames in enumerate(steps):
            before = len(counting.writes)
            for payload in frames:
                if not outbox.push(OutFrame(payload)):
                    break
                probe.pushed += 1
            probe.notes[f"queued{i}"] = outbox.queued_bytes
            probe.notes[f"writes_in_step{i}"] = len(counting.writes) - before
            if i < len(steps) - 1:
                await asyncio.sleep(0)  # the next loop step: the corked frames are written
                await asyncio.sleep(0)
        outbox.close(CloseCode.FORBIDDEN, "bye")  # same step as step 2's pushes
        probe.notes["writes"] = list(counting.writes)
        await wait_disconnect(ws, probe)
        probe.done.set()

    async with running(app_with(endpoint)) as url:
        async with asyncio.timeout(WAIT):
            received: list[bytes] = []
            async with connect(f"{url}/ws", max_size=None) as client:
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        received.append(await client.recv())  # type: ignore[arg-type]
            await probe.done.wait()

    everything = [p for frames in steps for p in frames]
    assert received == everything[: probe.pushed]  # in order, nothing lost
    assert probe.notes["writes_in_step0"] == 0  # corked, not written yet
    assert probe.notes["queued0"] == sum(sizes[0])  # corked bytes count against the bound
    rcvd = closed.value.rcvd
    assert rcvd is not None and rcvd.code == CloseCode.FORBIDDEN
    assert probe.pushed == 54 and probe.overflows == 0
    if then == "close":
        # step 0: 50 frames in one write; step 1: one; step 2: written by the close, before it
        assert probe.notes["writes"] == [sum(sizes[0]), sizes[1][0], sum(sizes[2])]
    else:
        # step 2 corked 612 bytes, then a second frame would pass 1,000: the first went
        # out at once, the same for the third; the close wrote the last one before it
        assert probe.notes["writes_in_step2"] == 2
        assert probe.notes["writes"] == [sum(sizes[0]), sizes[1][0], *sizes[2]]


@pytest.mark.parametrize("then", ["close", "big_step"])
async def test_direct_outbox_corks_one_loop_step_into_one_write(then: str) -> None:
    await scenario_corking(then)


async def test_server_drain_sends_corked_frames_before_its_1001() -> None:
    """The drain (SIGTERM) closes through the protocol, not the outbox: the frames corked
    in that same loop step still go out first."""
    probe = Probe()

    async def endpoint(ws: WebSocket) -> None:
        await ws.accept()
        outbox = make_outbox(ws, "direct", probe, BIG_LIMIT)
        for i in range(3):
            outbox.push(OutFrame(f"corked-{i}".encode()))
        channel = direct_channel(ws.scope)
        assert channel is not None
        channel._protocol.shutdown()  # what uvicorn calls on every connection at SIGTERM
        await wait_disconnect(ws, probe)
        probe.done.set()

    async with running(app_with(endpoint)) as url:
        async with asyncio.timeout(WAIT):
            received: list[bytes] = []
            async with connect(f"{url}/ws") as client:
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        received.append(await client.recv())  # type: ignore[arg-type]
            await probe.done.wait()

    assert received == [b"corked-0", b"corked-1", b"corked-2"]
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001


# --------------------------------------------------------------------------------------
# The same scenarios on uvloop, the production event loop


@pytest.mark.parametrize("scenario", [scenario_in_order, scenario_slow_consumer], ids=["in_order", "slow"])
def test_direct_path_on_uvloop(scenario: Callable[[str], Coroutine[Any, Any, None]]) -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(scenario("direct"))


# --------------------------------------------------------------------------------------
# AsgiOutbox semantics with a fake ASGI send (no server)


class FakeSend:
    """An ASGI send that blocks until released, recording what it was given."""

    def __init__(self) -> None:
        self.sent: list[MutableMapping[str, Any]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.idle = asyncio.Event()

    async def __call__(self, message: MutableMapping[str, Any]) -> None:
        self.idle.set()
        await self.gate.wait()
        self.sent.append(message)


async def test_asgi_outbox_overflow_drops_queue_and_closes() -> None:
    send = FakeSend()
    send.gate.clear()
    overflows: list[int] = []
    outbox = AsgiOutbox(send, 100, lambda: overflows.append(outbox.queued_bytes))
    assert outbox.push(OutFrame(b"a" * 60))
    async with asyncio.timeout(WAIT):
        await send.idle.wait()  # the writer holds the first frame, blocked in send
        assert outbox.queued_bytes == 0
        assert outbox.push(OutFrame(b"b" * 60))
        assert outbox.push(OutFrame(b"c" * 40))
        assert outbox.queued_bytes == 100
        assert not outbox.push(OutFrame(b"d"))  # 101 > 100
        assert overflows == [0]  # once, after the queue was dropped
        assert outbox.closed
        assert not outbox.push(OutFrame(b"e"))
        assert overflows == [0]
        send.gate.set()
        assert outbox._task is not None
        await outbox._task
    assert [m["type"] for m in send.sent] == ["websocket.send", "websocket.close"]
    assert send.sent[1]["code"] == CloseCode.SLOW_CONSUMER
    assert send.sent[1]["reason"] == "slow consumer"


async def test_asgi_outbox_empty_queue_takes_one_oversized_frame() -> None:
    send = FakeSend()
    send.gate.clear()
    overflows: list[None] = []
    outbox = AsgiOutbox(send, 100, lambda: overflows.append(None))
    async with asyncio.timeout(WAIT):
        await outbox.start()
        assert outbox.push(OutFrame(b"w" * 500))  # a big welcome into an empty queue
        await send.idle.wait()  # the writer took it: the queue is empty again
        assert outbox.push(OutFrame(b"a" * 500))
        assert not outbox.push(OutFrame(b"b"))  # now the bound applies
        assert overflows == [None]
        await outbox.aclose()


async def test_asgi_outbox_close_flushes_pending_frames_first() -> None:
    send = FakeSend()
    outbox = AsgiOutbox(send, 1000, lambda: None)
    outbox.push(OutFrame(b"one"))
    outbox.push(OutFrame(b"two", text=True))
    outbox.close(4003, "bye")
    outbox.close(1000, "again")  # ignored
    assert not outbox.push(OutFrame(b"three"))
    async with asyncio.timeout(WAIT):
        assert outbox._task is not None
        await outbox._task
    assert send.sent == [
        {"type": "websocket.send", "bytes": b"one"},
        {"type": "websocket.send", "text": "two"},
        {"type": "websocket.close", "code": 4003, "reason": "bye"},
    ]


async def test_asgi_outbox_aclose_cancels_a_blocked_writer() -> None:
    send = FakeSend()
    send.gate.clear()
    outbox = AsgiOutbox(send, 1000, lambda: None)
    await outbox.start()
    outbox.push(OutFrame(b"stuck"))
    outbox.push(OutFrame(b"queued"))
    async with asyncio.timeout(WAIT):
        await send.idle.wait()
        await outbox.aclose()
        await outbox.aclose()
    assert outbox.closed and outbox.queued_bytes == 0
    assert send.sent == []
    assert outbox._task is not None and outbox._task.cancelled()


async def test_asgi_outbox_writer_stops_quietly_when_client_is_gone() -> None:
    async def gone(message: MutableMapping[str, Any]) -> None:
        raise WebSocketDisconnect(1006)

    outbox = AsgiOutbox(gone, 1000, lambda: None)
    assert outbox.push(OutFrame(b"x"))
    async with asyncio.timeout(WAIT):
        assert outbox._task is not None
        await outbox._task
    assert outbox.closed
    assert not outbox.push(OutFrame(b"y"))
