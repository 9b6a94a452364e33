"""One WebSocket session on ``/v1/ws``: handshake, hello → welcome, then dispatch.

The session reads frames, enforces the frame-rate limit, decodes with the subprotocol's
codec and hands ops and signals to its room. Everything it sends goes through the
connection's bounded outbox (direct transport writes when our uvicorn protocol is in
use, a single writer task otherwise); nothing here awaits a client socket.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import structlog
from starlette.websockets import WebSocket

from cosession.auth import Claims, TokenError
from cosession.gateway.framing import OutFrame
from cosession.gateway.outbox import AsgiOutbox, DirectOutbox, Outbox
from cosession.gateway.ratelimit import FloodWatch, TokenBucket
from cosession.hub.hub import HubUnavailable
from cosession.rooms.room import JoinRefused, Room
from cosession.services import Services
from cosession.tenants.auth import websocket_origin_refusal
from protocol.codec import JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL, Codec, codec_for
from protocol.errors import CloseCode, ErrorCode, ProtocolError
from protocol.messages import (
    Away,
    CallJoin,
    CallLeave,
    CallStateChange,
    ClientMessage,
    Device,
    Error,
    Focus,
    Follow,
    Hello,
    Op,
    Ping,
    Pong,
    Read,
    Role,
    ServerMessage,
    Signal,
    Typing,
)

log = structlog.get_logger("cosession.gateway")
_conn_ids = itertools.count(1)


class Connection:
    """A member's connection as a room sees it (implements ``RoomConnection``)."""

    def __init__(self, codec: Codec, outbox: Outbox, claims: Claims, device: Device) -> None:
        self.id = next(_conn_ids)
        self.codec = codec
        self.outbox = outbox
        self.member = claims.member
        self.name = claims.name
        self.role: Role = claims.role
        self.device: Device = device
        self.in_store = claims.in_store

    def send(self, message: ServerMessage) -> None:
        self.outbox.push(OutFrame(self.codec.encode(message), text=not self.codec.binary))

    def send_frame(self, frame: OutFrame) -> None:
        self.outbox.push(frame)

    def close(self, code: int, reason: str) -> None:
        self.outbox.close(code, reason)


def choose_subprotocol(offered: list[str]) -> str | None:
    """msgpack when offered or when nothing is offered; json when only json is offered."""
    if MSGPACK_SUBPROTOCOL in offered:
        return MSGPACK_SUBPROTOCOL
    if JSON_SUBPROTOCOL in offered:
        return JSON_SUBPROTOCOL
    return None


class Session:
    def __init__(self, websocket: WebSocket, services: Services) -> None:
        self.ws = websocket
        self.services = services
        self.settings = services.settings
        self.codec: Codec = codec_for(None)
        self.outbox: Outbox | None = None
        self.conn: Connection | None = None
        self.room: Room | None = None
        self.log = log

    # ---- sending before the connection joined ----------------------------------------

    def _send(self, message: ServerMessage) -> None:
        assert self.outbox is not None
        self.outbox.push(OutFrame(self.codec.encode(message), text=not self.codec.binary))

    def _fail(self, code: ErrorCode, message: str, close: CloseCode) -> None:
        self._send(Error(code=code, message=message))
        assert self.outbox is not None
        self.outbox.close(close, code.value)

    def _on_overflow(self) -> None:
        self.services.metrics.slow_closes += 1
        self.log.warning("send queue overflow: closing slow consumer")

    # ---- lifecycle ---------------------------------------------------------------------

    async def run(self) -> None:
        ws = self.ws
        subprotocol = choose_subprotocol(list(ws.scope.get("subprotocols", [])))
        self.codec = codec_for(subprotocol)
        await ws.accept(subprotocol=subprotocol)
        channel = ws.scope.get("extensions", {}).get("cosession.direct")
        limit = self.settings.send_queue_bytes
        if channel is not None:
            self.outbox = DirectOutbox(
                channel, limit, self._on_overflow, slow_abort_after=self.settings.slow_close_grace
            )
        else:
            self.outbox = AsgiOutbox(ws.send, limit, self._on_overflow)
        self.services.metrics.connections += 1
        try:
            if await self._handshake():
                await self._serve()
        finally:
            self.services.metrics.connections -= 1
            if self.room is not None and self.conn is not None:
                self.room.leave(self.conn)
            await self.outbox.aclose()

    async def _receive(self) -> bytes | str | None:
        """The next frame's payload; None when the peer left or the frame was too big
        (then the connection is closing with 1009)."""
        message: Any = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            return None
        limit = self.settings.max_frame_bytes
        data: bytes | None = message.get("bytes")
        if data is not None:
            if len(data) <= limit:
                return data
            self._too_big(len(data))
            return None
        text: str = message.get("text") or ""
        # the limit is in bytes: only a text that might exceed it is encoded to count them
        if len(text) > limit or (len(text) * 4 > limit and len(text.encode("utf-8", "surrogatepass")) > limit):
            self._too_big(len(text))
            return None
        return text

    def _too_big(self, size: int) -> None:
        """SPEC section 2: a frame over ``max_frame_bytes`` closes with 1009, whatever ASGI
        server runs the app (``cosession serve`` also sets uvicorn's ``ws_max_size``)."""
        self.log.info("frame too big: closing", size=size, limit=self.settings.max_frame_bytes)
        assert self.outbox is not None
        self.outbox.close(CloseCode.MESSAGE_TOO_BIG, "frame too big")

    async def _handshake(self) -> bool:
        try:
            async with asyncio.timeout(self.settings.hello_timeout):
                data = await self._receive()
        except TimeoutError:
            self._fail(ErrorCode.HELLO_EXPECTED, "no hello in time", CloseCode.HELLO_TIMEOUT)
            return False
        if data is None:
            return False
        try:
            hello = self.codec.decode_client(data)
        except ProtocolError as exc:
            self._fail(exc.code, exc.message, CloseCode.PROTOCOL_ERROR)
            return False
        if not isinstance(hello, Hello):
            self._fail(ErrorCode.HELLO_EXPECTED, "the first message must be hello", CloseCode.PROTOCOL_ERROR)
            return False
        try:
            claims = self.services.signer.verify(hello.token)
        except TokenError as exc:
            if exc.kind == "expired":
                self._fail(ErrorCode.TOKEN_EXPIRED, str(exc), CloseCode.TOKEN_EXPIRED)
            else:
                self._fail(ErrorCode.UNAUTHORIZED, str(exc), CloseCode.UNAUTHORIZED)
            return False
        try:
            room = await self.services.registry.get(claims.room)
        except HubUnavailable as exc:  # cluster: Redis away while loading the room
            self._fail(ErrorCode.UNAVAILABLE, f"the room cannot be loaded right now: {exc}", CloseCode.GOING_AWAY)
            return False
        if room is None:
            self._fail(ErrorCode.ROOM_NOT_FOUND, "no such room", CloseCode.ROOM_NOT_FOUND)
            return False
        origin_refused = await websocket_origin_refusal(self.ws, room.id)
        if origin_refused is not None:
            self.services.registry.release(room)  # refused: the room may leave memory when idle
            self._fail(ErrorCode.FORBIDDEN, origin_refused, CloseCode.FORBIDDEN)
            return False
        assert self.outbox is not None
        conn = Connection(self.codec, self.outbox, claims, hello.device)
        self.log = log.bind(room=room.id, member=conn.member, conn=conn.id)
        try:
            await room.join(conn, hello.resume)
        except JoinRefused as exc:
            self.services.registry.release(room)  # refused: the room may leave memory when idle
            self._fail(exc.code, exc.message, exc.close_code)
            return False
        self.room, self.conn = room, conn
        self.services.metrics.joins += 1
        if hello.resume is not None:
            self.services.metrics.resumes += 1
        self.log.info("joined", resume=hello.resume is not None, head=room.head)
        return True

    async def _serve(self) -> None:
        assert self.room is not None and self.conn is not None and self.outbox is not None
        room, conn, outbox = self.room, self.conn, self.outbox
        rates = room.rates  # one bucket per member, shared by its connections (and nodes)
        flood = FloodWatch(self.settings.ops_burst)
        # SPEC 14: signaling has its own bucket, per connection (ICE candidates come in bursts)
        signals = TokenBucket(self.settings.signals_per_second, self.settings.signals_burst, time.monotonic())
        signal_flood = FloodWatch(self.settings.signals_burst)
        metrics = self.services.metrics
        while not outbox.closed:
            data = await self._receive()
            if data is None:
                return
            now = time.monotonic()
            msg: ClientMessage | None = None
            problem: ProtocolError | None = None
            try:
                msg = self.codec.decode_client(data)
            except ProtocolError as exc:
                problem = exc
            if isinstance(msg, (Signal, CallStateChange)):
                allowed: bool | None = signals.take(now)
                flooding = not allowed and signal_flood.refused(now)
            else:
                allowed = rates.try_take(conn.member, now)
                if allowed is None:  # a cluster node whose lease is spent: borrow from Redis
                    allowed = await rates.take(conn.member, now)
                flooding = not allowed and flood.refused(now)
            if flooding:
                metrics.rate_limited += 1
                self.log.warning("flood: closing")
                self._fail(ErrorCode.RATE_LIMITED, "too many messages", CloseCode.RATE_LIMITED)
                return
            if msg is None:
                assert problem is not None
                metrics.bad_frames += 1
                if allowed:
                    self._send(Error(code=problem.code, message=problem.message))
                else:  # SPEC 3.4: a refused frame is answered, malformed or not
                    metrics.rate_limited += 1
                    self._send(Error(code=ErrorCode.RATE_LIMITED, message="slow down"))
                continue
            if not allowed:  # refused, but answered with the op's ref so the client can retry it
                metrics.rate_limited += 1
                ref = msg.ref if isinstance(msg, Op) else None
                self._send(Error(code=ErrorCode.RATE_LIMITED, message="slow down", ref=ref))
                continue
            if isinstance(msg, Op):
                metrics.ops += 1
                metrics.ops_by_type[type(msg.op)] += 1
                room.submit(conn, msg.ref, msg.op)
            elif isinstance(msg, Focus):
                room.focus(conn, msg.product)
                if msg.product is not None:
                    self.services.focus.seen(room.id, msg.product.id)
            elif isinstance(msg, Typing):
                room.typing(conn, msg.on)
            elif isinstance(msg, Follow):
                rejection = room.follow(conn, msg.member)
                if rejection is not None:
                    self._send(Error(code=rejection.code, message=rejection.message))
            elif isinstance(msg, (Signal, CallJoin, CallLeave, CallStateChange)):
                rejection = room.calls.handle(conn, msg)
                if rejection is not None:
                    self._send(Error(code=rejection.code, message=rejection.message))
            elif isinstance(msg, Read):
                room.read(conn, msg.seq)
            elif isinstance(msg, Away):
                room.away(conn, msg.on)
            elif isinstance(msg, Ping):
                self._send(Pong(nonce=msg.nonce))
            elif isinstance(msg, Hello):
                self._send(Error(code=ErrorCode.ALREADY_JOINED, message="this connection already joined"))


async def websocket_endpoint(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    if services.draining:
        await websocket.accept(subprotocol=choose_subprotocol(list(websocket.scope.get("subprotocols", []))))
        await websocket.close(code=CloseCode.GOING_AWAY, reason="draining: reconnect to another node")
        return
    await Session(websocket, services).run()
