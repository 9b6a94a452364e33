"""A minimal WebSocket client as a raw asyncio ``Protocol``: cheap enough to run
hundreds of receivers per process.

The opening handshake (HTTP Upgrade, ``Sec-WebSocket-Key`` / ``-Accept``, optional
``Sec-WebSocket-Protocol``) is done by hand. After it, incoming server frames (never
masked) are parsed for their headers only: a receiver counts complete messages and
bytes without copying or decoding payloads. Payloads are materialised only for control
frames (ping → pong, close), for the first data frame (so a joiner can tell a welcome
from an error), and for every data frame when ``decode=True`` (latency receivers and
the sender), which hands them to ``on_message``.

Client frames are masked with a random key, as RFC 6455 requires.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import struct
import time
from collections.abc import Callable

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MAX_HANDSHAKE = 64 * 1024

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

perf_ns = time.perf_counter_ns


def client_frame(opcode: int, payload: bytes) -> bytes:
    """One complete, masked, unfragmented client frame."""
    n = len(payload)
    head = 0x80 | opcode
    if n < 126:
        header = bytes((head, 0x80 | n))
    elif n < 0x10000:
        header = struct.pack("!BBH", head, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", head, 0x80 | 127, n)
    key = os.urandom(4)
    if n:
        mask = int.from_bytes((key * (n // 4 + 1))[:n], "big")
        payload = (int.from_bytes(payload, "big") ^ mask).to_bytes(n, "big")
    return header + key + payload


OnMessage = Callable[[int, bytes, int], None]  # (opcode, payload, receive time in perf_counter ns)


class WsClient(asyncio.Protocol):
    """One client connection. ``opened`` resolves after the 101 response, ``first``
    with the first data message's payload, ``done`` when the connection is lost."""

    def __init__(
        self,
        host: str,
        port: int,
        path: str,
        subprotocol: str | None = None,
        *,
        decode: bool = False,
        on_message: OnMessage | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        self.host, self.port, self.path, self.subprotocol = host, port, path, subprotocol
        self.decode = decode
        self.on_message = on_message
        self.opened: asyncio.Future[None] = loop.create_future()
        self.first: asyncio.Future[bytes] = loop.create_future()
        self.done: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.count = 0  # complete data messages received
        self.nbytes = 0  # bytes received after the handshake
        self.close_code: int | None = None  # from the server's close frame
        self.close_sent = False
        self._in_handshake = True
        self._hbuf = b""
        self._accept = b""
        self._pending = b""  # an incomplete header, or an incomplete frame we need whole
        self._skip = 0  # payload bytes of the current (counted-only) frame still to come
        self._skip_fin = 0  # 1 if that frame ends a message

    # ---- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have the same methods
        self.transport = transport  # type: ignore[assignment]
        key = base64.b64encode(os.urandom(16))
        self._accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        lines = [
            f"GET {self.path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key.decode()}",
            "Sec-WebSocket-Version: 13",
        ]
        if self.subprotocol:
            lines.append(f"Sec-WebSocket-Protocol: {self.subprotocol}")
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())  # type: ignore[union-attr]

    def connection_lost(self, exc: Exception | None) -> None:
        err = exc or ConnectionError("connection closed")
        for fut in (self.opened, self.first):
            if not fut.done():
                fut.set_exception(err)
                fut.exception()  # mark retrieved
        if not self.done.done():
            self.done.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self._in_handshake:
            data = self._handshake(data)
            if not data:
                return
        self.nbytes += len(data)
        if self._pending:
            data = self._pending + data
            self._pending = b""
        n = len(data)
        pos = 0
        skip = self._skip
        if skip:
            if skip > n:
                self._skip = skip - n
                return
            pos = skip
            self._skip = 0
            self.count += self._skip_fin
        need_payload = self.decode or not self.first.done()
        now = perf_ns() if self.decode else 0
        while pos < n:
            if n - pos < 2:
                self._pending = data[pos:]
                return
            b0 = data[pos]
            length = data[pos + 1] & 0x7F
            if length < 126:
                start = pos + 2
            elif length == 126:
                if n - pos < 4:
                    self._pending = data[pos:]
                    return
                length = (data[pos + 2] << 8) | data[pos + 3]
                start = pos + 4
            else:
                if n - pos < 10:
                    self._pending = data[pos:]
                    return
                length = int.from_bytes(data[pos + 2 : pos + 10], "big")
                start = pos + 10
            end = start + length
            opcode = b0 & 0x0F
            if opcode < 8 and not need_payload:
                if end > n:  # count it once its last byte arrives
                    self._skip = end - n
                    self._skip_fin = b0 >> 7
                    return
                if b0 & 0x80:
                    self.count += 1
                pos = end
                continue
            if end > n:
                self._pending = data[pos:]
                return
            payload = data[start:end]
            pos = end
            if opcode >= 8:
                self._control(opcode, payload)
                continue
            if b0 & 0x80:
                self.count += 1
                if not self.first.done():
                    self.first.set_result(payload)
                    need_payload = self.decode
                if self.on_message is not None:
                    self.on_message(opcode, payload, now)

    # ---- helpers ---------------------------------------------------------------------

    def _handshake(self, data: bytes) -> bytes:
        self._hbuf += data
        end = self._hbuf.find(b"\r\n\r\n")
        if end < 0:
            if len(self._hbuf) > _MAX_HANDSHAKE:
                self._fail("handshake response too large")
            return b""
        head, rest = self._hbuf[:end].decode("latin-1"), self._hbuf[end + 4 :]
        self._hbuf = b""
        lines = head.split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if not lines[0].startswith("HTTP/1.1 101"):
            self._fail(f"handshake refused: {lines[0]}")
            return b""
        if headers.get("sec-websocket-accept", "").encode() != self._accept:
            self._fail("bad Sec-WebSocket-Accept")
            return b""
        if self.subprotocol and headers.get("sec-websocket-protocol") != self.subprotocol:
            self._fail(f"subprotocol not accepted: {headers.get('sec-websocket-protocol')!r}")
            return b""
        self._in_handshake = False
        self.opened.set_result(None)
        return rest

    def _fail(self, why: str) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(why))
            self.opened.exception()
        if self.transport is not None:
            self.transport.abort()

    def _control(self, opcode: int, payload: bytes) -> None:
        if opcode == OP_PING:
            self.send(OP_PONG, payload)
        elif opcode == OP_CLOSE:
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            if not self.close_sent:
                self.send(OP_CLOSE, payload[:2])
                self.close_sent = True
            if self.transport is not None:
                self.transport.close()

    def send(self, opcode: int, payload: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(client_frame(opcode, payload))

    def send_binary(self, payload: bytes) -> None:
        self.send(OP_BINARY, payload)

    async def aclose(self, timeout: float = 2.0) -> None:
        """Closing handshake (1000), bounded by ``timeout``; then the socket is gone."""
        if self.transport is None:
            return
        if not self.close_sent and not self.transport.is_closing():
            self.send(OP_CLOSE, struct.pack("!H", 1000))
            self.close_sent = True
        try:
            await asyncio.wait_for(asyncio.shield(self.done), timeout)
        except TimeoutError:
            self.transport.abort()


async def open_ws(
    host: str,
    port: int,
    path: str,
    subprotocol: str | None = None,
    *,
    decode: bool = False,
    on_message: OnMessage | None = None,
    timeout: float = 10.0,
) -> WsClient:
    loop = asyncio.get_running_loop()
    _, proto = await asyncio.wait_for(
        loop.create_connection(
            lambda: WsClient(host, port, path, subprotocol, decode=decode, on_message=on_message), host, port
        ),
        timeout,
    )
    await asyncio.wait_for(asyncio.shield(proto.opened), timeout)
    return proto
