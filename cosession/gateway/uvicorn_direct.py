"""A uvicorn WebSocket protocol that lets the app write pre-framed bytes to the transport.

Run uvicorn with ``uvicorn.Config(app, ws=DirectWebSocketProtocol, ...)`` (uvicorn accepts
a protocol class for ``ws``). Every WebSocket scope then carries
``scope["extensions"]["cosession.direct"]``: a :class:`DirectChannel` whose synchronous
methods write complete server frames (see :mod:`cosession.gateway.framing`) straight to
the connection's transport, skipping the per-message ASGI ``send`` (an await, a dict, a
websockets ``Frame`` and a serialization per member per message). Fan-out frames a
broadcast once and writes the same bytes to every member.

Rules for the app:

- Use the channel only after sending ``websocket.accept``: before the handshake
  response has been written, ``write`` and ``close`` raise ``RuntimeError``.
- Frames written through the channel must be complete, unmasked, unfragmented frames
  with RSV bits clear. They may interleave with ASGI ``websocket.send`` calls and with
  uvicorn's keepalive pings, since every transport write is a whole frame.
- permessage-deflate is never negotiated on connections served by this class, whatever
  ``Config.ws_per_message_deflate`` says: a frame shared by many connections cannot be
  compressed with each connection's own compression context.
- After ``DirectChannel.close`` the app receives ``websocket.disconnect``; a later ASGI
  ``websocket.close`` is ignored and a later ``websocket.send`` raises
  ``ClientDisconnected`` (an ``OSError``, which Starlette turns into
  ``WebSocketDisconnect``), as if the client had gone.

The app must not depend on this class: when the extension is absent (plain uvicorn,
another server, the test client) it falls back to ASGI sends (``AsgiOutbox``).
"""

from __future__ import annotations

import asyncio
from asyncio import TimerHandle
from collections.abc import Callable, Mapping
from typing import Any, Final, cast

from uvicorn._types import ASGISendEvent
from uvicorn.config import Config
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.exceptions import ProtocolError
from websockets.protocol import State

from cosession.gateway.framing import truncate_close_reason

__all__ = ["DIRECT_EXTENSION", "DirectChannel", "DirectWebSocketProtocol", "direct_channel"]

#: The ASGI scope extension under which the channel is published.
DIRECT_EXTENSION: Final = "cosession.direct"


def direct_channel(scope: Mapping[str, Any]) -> DirectChannel | None:
    """The connection's :class:`DirectChannel`, or ``None`` when the server does not offer one."""
    extensions = scope.get("extensions") or {}
    channel = extensions.get(DIRECT_EXTENSION)
    return channel if isinstance(channel, DirectChannel) else None


class DirectChannel:
    """Synchronous access to one WebSocket connection's transport. Nothing here awaits."""

    __slots__ = ("_protocol", "before_close")

    def __init__(self, protocol: DirectWebSocketProtocol) -> None:
        self._protocol = protocol
        #: Called right before a close frame the app did not ask for (the server's
        #: drain) is written, so that frames the app holds back (corked) go first.
        self.before_close: Callable[[], None] | None = None

    @property
    def closed(self) -> bool:
        """True once a close frame was sent or received, or the transport is closing or gone."""
        p = self._protocol
        return (
            p.disconnected
            or p.close_sent
            or p.transport.is_closing()
            or p.conn.state is State.CLOSING
            or p.conn.state is State.CLOSED
        )

    def buffered(self) -> int:
        """Bytes written but not yet accepted by the kernel (the transport's write buffer)."""
        return self._protocol.transport.get_write_buffer_size()

    def write(self, data: bytes) -> None:
        """Write complete, pre-framed bytes; a no-op once the connection is closing or closed."""
        if self.closed:
            return
        p = self._protocol
        if p.conn.state is State.CONNECTING:
            raise RuntimeError("DirectChannel.write() before websocket.accept")
        p.transport.write(data)

    def close(self, code: int, reason: str = "", abort_after: float | None = None) -> None:
        """Start the closing handshake with ``code`` and ``reason``, after any buffered data.

        The close frame goes through the websockets state machine exactly as an ASGI
        ``websocket.close`` does; the app's ``receive`` yields ``websocket.disconnect``, and
        the transport is closed when the peer answers or after uvicorn's close timeout.
        A peer that never reads keeps ``transport.close()`` from ever finishing (it waits
        for the buffer to drain), so ``abort_after`` seconds, when given, bound the whole
        thing: the transport is then aborted if the connection is still not lost.

        A no-op if the connection is already closing or closed. Raises ``ValueError`` for
        a close code that may not be sent.
        """
        if self.closed:
            return
        p = self._protocol
        if p.conn.state is State.CONNECTING:
            raise RuntimeError("DirectChannel.close() before websocket.accept")
        reason = truncate_close_reason(reason)
        try:
            p.conn.send_close(code, reason)
        except ProtocolError as exc:
            raise ValueError(f"invalid close code: {code}") from exc
        p.direct_closed = True
        p.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        p.transport.write(b"".join(p.conn.data_to_send()))
        p.close_sent = True
        if p.read_paused:
            # Keep reading so that the peer's close reply is seen.
            p.read_paused = False
            p.transport.resume_reading()
        p.close_timer = p.loop.call_later(p.close_timeout, p.transport.close)
        if abort_after is not None:
            p.schedule_abort(abort_after)


class DirectWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O websockets protocol, plus the ``cosession.direct`` scope extension."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # Never negotiate permessage-deflate: frames written through the channel are
        # shared between connections and carry RSV1 = 0 (see the module docstring).
        self.conn.available_extensions = None
        self.direct = DirectChannel(self)
        self.direct_closed = False
        self.abort_timer: TimerHandle | None = None

    async def run_asgi(self) -> None:
        # The extension is added when the app task starts, right before the app is
        # called, rather than after handle_connect() creates the task: that holds even
        # under an eager task factory, where the task would start inside handle_connect().
        # (uvicorn types extension values as dicts; ours is an object.)
        extensions = cast("dict[str, Any]", self.scope["extensions"])
        extensions[DIRECT_EXTENSION] = self.direct
        await super().run_asgi()

    async def send(self, message: ASGISendEvent) -> None:
        # Wait as the base class does first, so that a send blocked on a full buffer
        # while the channel closed the connection sees the close.
        await self.writable.wait()
        if self.direct_closed:
            # The channel closed the connection behind the app's back: behave as if the
            # client had gone, and accept the app's own close as a no-op.
            if message["type"] == "websocket.close":
                return
            raise ClientDisconnected()
        await super().send(message)

    def schedule_abort(self, delay: float) -> None:
        """Abort the transport after ``delay`` seconds unless the connection is lost first."""
        if self.abort_timer is None and not self.disconnected:
            self.abort_timer = self.loop.call_later(delay, self._abort_if_open)

    def _abort_if_open(self) -> None:
        self.abort_timer = None
        if not self.disconnected:
            self.transport.abort()

    def keepalive_timeout(self) -> None:
        super().keepalive_timeout()
        # The peer stopped answering pings: transport.close() cannot finish while data is
        # buffered for a peer that reads nothing, so bound it.
        self.schedule_abort(self.close_timeout)

    def shutdown(self) -> None:
        """Server draining (SIGTERM): close every joined connection with 1001 and a
        retry hint (uvicorn's own shutdown says 1012), so clients resume on another node."""
        if self.handshake_complete and not self.close_sent and not self.transport.is_closing():
            if self.direct.before_close is not None:
                self.direct.before_close()  # frames the app accepted go out before the close
            self.stop_keepalive()
            self.queue.put_nowait({"type": "websocket.disconnect", "code": 1001})
            self.conn.send_close(1001, "server draining: reconnect and resume")
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.close_sent = True
            self.transport.close()
        else:
            super().shutdown()
        self.schedule_abort(self.close_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.abort_timer is not None:
            self.abort_timer.cancel()
            self.abort_timer = None
        super().connection_lost(exc)
