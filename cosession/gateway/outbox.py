"""Per-connection bounded send queues.

Fan-out calls :meth:`Outbox.push` for each member; ``push`` never awaits, so a slow or
dead client can never slow its room. Each outbox is bounded in bytes: the push that
would exceed the bound calls ``on_overflow`` once, synchronously, and the outbox closes
its connection with ``CloseCode.SLOW_CONSUMER`` (4008); the client resumes on reconnect.

Two implementations:

- :class:`DirectOutbox`, when uvicorn runs :class:`DirectWebSocketProtocol`: the queue
  *is* the transport's write buffer, drained by the event loop; no task at all. Frames
  pushed during one event-loop step are *corked* and written with one
  ``transport.write`` at the start of the next step (one ``send()`` per member per
  group commit instead of one per event).
- :class:`AsgiOutbox`, anywhere else: a deque drained by one writer task through the
  ASGI ``send`` callable.

:func:`open_outbox` picks one from the connection's scope. See docs/backpressure.md.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any, Protocol

from starlette.websockets import WebSocketDisconnect

from cosession.gateway.framing import OutFrame, truncate_close_reason
from cosession.gateway.uvicorn_direct import DirectChannel, direct_channel
from protocol.errors import CloseCode

__all__ = ["AsgiOutbox", "AsgiSend", "DirectOutbox", "Outbox", "open_outbox"]

logger = logging.getLogger(__name__)

#: An ASGI ``send`` callable: the raw one, or Starlette's ``WebSocket.send`` (preferred in a
#: Starlette route, since it keeps the ``WebSocket`` object's state in step).
AsgiSend = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_SLOW_REASON = "slow consumer"


class Outbox(Protocol):
    """A connection's bounded send queue. No method awaits."""

    @property
    def closed(self) -> bool:
        """True once the outbox accepts no more frames (closed, overflowed, or disconnected)."""
        ...

    @property
    def queued_bytes(self) -> int:
        """Bytes accepted but not yet handed to the kernel."""
        ...

    def push(self, frame: OutFrame) -> bool:
        """Queue ``frame``; False if the outbox is closed or this push overflowed it.

        On overflow ``on_overflow`` runs first, inside this call (it must not, for
        instance, mutate a collection the caller is iterating), then the outbox closes
        itself with ``CloseCode.SLOW_CONSUMER``.
        """
        ...

    def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        """Close the connection after the frames already queued (best effort). Idempotent."""
        ...

    async def aclose(self) -> None:
        """Release the outbox when its connection ends: stop accepting frames, stop any task.

        Sends nothing and never waits for the client. Call it in the connection
        handler's ``finally``; idempotent.
        """
        ...


#: Seconds an AsgiOutbox's ``aclose`` waits for a requested close frame to be handed to the server.
CLOSE_SEND_GRACE = 1.0


class _Corks:
    """The direct outboxes of one event loop that hold corked frames; one callback per
    loop step writes them all."""

    __slots__ = ("_loop", "_pending", "_scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._pending: list[DirectOutbox] = []
        self._scheduled = False

    def add(self, outbox: DirectOutbox) -> None:
        self._pending.append(outbox)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush_all)

    def _flush_all(self) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, []
        for outbox in pending:
            try:
                outbox.flush()
            except Exception:  # one broken transport must not strand the others' frames
                logger.exception("flushing a corked outbox failed")


_CORKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Corks] = weakref.WeakKeyDictionary()


def _corks() -> _Corks:
    loop = asyncio.get_running_loop()
    corks = _CORKS.get(loop)
    if corks is None:
        corks = _CORKS[loop] = _Corks(loop)
    return corks


class DirectOutbox:
    """An outbox whose queue is the transport's write buffer (uvicorn direct path).

    ``limit_bytes`` bounds what this client's connection holds in user space: the
    transport's write buffer (what the kernel would not take) plus the frames corked in
    this loop step. Only a non-empty transport buffer means the client is behind: a push
    that would take buffer + corked bytes past the limit then overflows. Corked bytes
    alone never do: a step that corks more than the limit is handed to the kernel early,
    as writes without corking were. An empty queue always takes one frame, however large
    (a welcome with its replay), so the bound is ``limit_bytes`` plus the largest single
    frame. After an overflow the close frame is queued behind
    the data already accepted, and the transport is aborted ``slow_abort_after`` seconds
    later if the client has not read its way to the close by then.

    Frames pushed in one event-loop step are corked and written together by one
    callback early in the next step (:meth:`flush`), so a group commit of K events costs
    each member one ``transport.write`` (often one ``send()``) instead of K. ``close``,
    an overflow and ``aclose`` flush first: nothing accepted is lost or reordered. Every
    frame of a connection goes through its outbox, so corking never reorders frames
    against other writes (only uvicorn's own pings may overtake, harmlessly).
    """

    __slots__ = ("_channel", "_closed", "_corked", "_corks", "_limit", "_on_overflow", "_parts", "_slow_abort_after")

    def __init__(
        self,
        channel: DirectChannel,
        limit_bytes: int,
        on_overflow: Callable[[], None],
        slow_abort_after: float = 5.0,
    ) -> None:
        if limit_bytes <= 0:
            raise ValueError("limit_bytes must be positive")
        self._channel = channel
        self._limit = limit_bytes
        self._on_overflow = on_overflow
        self._slow_abort_after = slow_abort_after
        self._closed = False
        self._parts: list[bytes] | None = None  # corked frames of this loop step
        self._corked = 0
        self._corks: _Corks | None = None  # this event loop's, on the first push
        channel.before_close = self.flush  # the server's drain closes behind our back

    @property
    def closed(self) -> bool:
        return self._closed or self._channel.closed

    @property
    def queued_bytes(self) -> int:
        return self._channel.buffered() + self._corked

    def push(self, frame: OutFrame) -> bool:
        if self._closed:
            return False
        channel = self._channel
        if channel.closed:
            self._closed = True
            self._parts, self._corked = None, 0
            return False
        wire = frame.wire
        size = len(wire)
        backlog = channel.buffered()  # what the kernel would not take: the client is behind
        # an empty queue always takes one frame (a large welcome with its replay), so the
        # bound is limit_bytes plus the largest single frame
        if backlog and backlog + self._corked + size > self._limit:
            self._overflow()
            return False
        if self._corked and self._corked + size > self._limit:
            # a big step: hand the kernel what we have now, then judge this frame
            self.flush()
            backlog = channel.buffered()
            if backlog and backlog + size > self._limit:
                self._overflow()
                return False
        parts = self._parts
        if parts is None:
            self._parts = [wire]
            corks = self._corks
            if corks is None:
                corks = self._corks = _corks()
            corks.add(self)
        else:
            parts.append(wire)
        self._corked += size
        return True

    def flush(self) -> None:
        """Write the corked frames now (the loop-step callback calls this; so may tests)."""
        parts = self._parts
        if parts is None:
            return
        self._parts, self._corked = None, 0
        self._channel.write(parts[0] if len(parts) == 1 else b"".join(parts))

    def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        if self._closed:
            return
        self._closed = True
        self.flush()
        # The abort timer bounds the close too: a client that has not read up to the
        # close frame within that time is a slow consumer.
        self._channel.close(code, reason, abort_after=self._slow_abort_after)

    async def aclose(self) -> None:
        # No task to stop: what was accepted goes to the transport, whose buffer is the
        # event loop's business.
        self._closed = True
        self.flush()

    def _overflow(self) -> None:
        self._closed = True
        try:
            self._on_overflow()
        finally:
            self.flush()
            self._channel.close(CloseCode.SLOW_CONSUMER, _SLOW_REASON, abort_after=self._slow_abort_after)


class AsgiOutbox:
    """An outbox drained through ASGI ``send`` by one writer task (the fallback path).

    The writer starts on :meth:`start` or on the first push or close (which then must
    happen inside a running event loop); :meth:`aclose` stops it. Call ``aclose`` when the
    connection ends: the writer task is referenced only by its outbox, and an outbox
    dropped while its writer waits for frames leaves a pending task to be destroyed.

    ``queued_bytes`` counts payload bytes waiting in the deque, not what the server holds
    below ``send``; as with :class:`DirectOutbox`, an empty deque always takes one frame.
    On overflow the queue is dropped and ``websocket.close`` is sent once the frame
    currently being sent, if any, has gone.
    """

    def __init__(self, send: AsgiSend, limit_bytes: int, on_overflow: Callable[[], None]) -> None:
        if limit_bytes <= 0:
            raise ValueError("limit_bytes must be positive")
        self._send = send
        self._limit = limit_bytes
        self._on_overflow = on_overflow
        self._frames: deque[OutFrame] = deque()
        self._queued = 0
        self._closed = False
        self._close_with: tuple[int, str] | None = None
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def queued_bytes(self) -> int:
        return self._queued

    async def start(self) -> None:
        """Start the writer task now (optional: the first push or close starts it)."""
        self._ensure_writer()

    def push(self, frame: OutFrame) -> bool:
        if self._closed:
            return False
        size = len(frame.payload)
        if self._queued and self._queued + size > self._limit:
            self._overflow()
            return False
        self._frames.append(frame)
        self._queued += size
        self._ensure_writer()
        self._wakeup.set()
        return True

    def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        if self._closed:
            return
        self._closed = True
        self._close_with = (code, truncate_close_reason(reason))
        self._ensure_writer()
        self._wakeup.set()

    async def aclose(self) -> None:
        """Stop the writer task, dropping whatever is still queued. Idempotent.

        A close requested before (an error's close code, a 1009) is given up to
        ``CLOSE_SEND_GRACE`` seconds to go out first: without it the handler's ``finally``
        cancelled the writer before it sent the close frame, and the client saw 1006."""
        self._closed = True
        task = self._task
        if task is not None and not task.done() and self._close_with is not None:
            await asyncio.wait((task,), timeout=CLOSE_SEND_GRACE)
        if task is not None and not task.done():
            task.cancel()
            # asyncio.wait() neither raises the task's CancelledError nor swallows our own.
            await asyncio.wait((task,))
        self._drop()

    def _overflow(self) -> None:
        self._closed = True
        self._drop()
        self._close_with = (CloseCode.SLOW_CONSUMER, _SLOW_REASON)
        try:
            self._on_overflow()
        finally:
            self._ensure_writer()
            self._wakeup.set()

    def _drop(self) -> None:
        self._frames.clear()
        self._queued = 0

    def _ensure_writer(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="cosession-outbox-writer")

    async def _run(self) -> None:
        send = self._send
        frames = self._frames
        try:
            while True:
                while frames:
                    frame = frames.popleft()
                    self._queued -= len(frame.payload)
                    if frame.text:
                        await send({"type": "websocket.send", "text": frame.payload.decode()})
                    else:
                        await send({"type": "websocket.send", "bytes": frame.payload})
                if self._close_with is not None:
                    code, reason = self._close_with
                    await send({"type": "websocket.close", "code": code, "reason": reason})
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
        except (OSError, WebSocketDisconnect):
            pass  # the client went away (uvicorn raises ClientDisconnected, Starlette converts it)
        except RuntimeError:
            # ASGI state errors: the app closed the connection through another path.
            logger.debug("outbox writer stopped", exc_info=True)
        except Exception:
            logger.exception("outbox writer failed")
        finally:
            self._closed = True
            self._drop()


def open_outbox(
    scope: Mapping[str, Any],
    send: AsgiSend,
    *,
    limit_bytes: int,
    on_overflow: Callable[[], None],
    slow_abort_after: float = 5.0,
) -> Outbox:
    """A :class:`DirectOutbox` when the server offers the direct channel, else an :class:`AsgiOutbox`.

    Call it after ``websocket.accept``.
    """
    channel = direct_channel(scope)
    if channel is not None:
        return DirectOutbox(channel, limit_bytes, on_overflow, slow_abort_after)
    return AsgiOutbox(send, limit_bytes, on_overflow)
