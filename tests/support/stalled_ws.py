"""A WebSocket member over a bare socket that reads nothing unless told to.

A library client keeps reading into its own buffers; this one does the HTTP upgrade and
the ``hello`` by hand, reads its ``welcome``, and then leaves the socket alone, so the
server's writes back up exactly as they would for a phone on a dead network: the kernel's
receive buffer (a small ``SO_RCVBUF``) fills, then the server's send buffer, then the
server's send queue. ``read_until_close`` later reads everything that was delivered, up to
the close frame, and returns the close code.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct

from protocol.codec import MSGPACK
from protocol.messages import Hello, ServerMessage, Welcome


class StalledMember:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.messages: list[ServerMessage] = []  # every server message read, in order

    @classmethod
    async def join(
        cls, port: int, token: str, *, rcvbuf: int = 65536, timeout: float = 10.0
    ) -> tuple[StalledMember, Welcome]:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: sets the window
        sock.setblocking(False)
        member = cls(sock)
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, ("127.0.0.1", port))
            key = base64.b64encode(os.urandom(16)).decode()
            request = (
                f"GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Sec-WebSocket-Protocol: {MSGPACK.subprotocol}\r\n\r\n"
            )
            await loop.sock_sendall(sock, request.encode())
            while b"\r\n\r\n" not in member.buffer:
                await member._fill()
            head, member.buffer = member.buffer.split(b"\r\n\r\n", 1)
            assert head.startswith(b"HTTP/1.1 101"), head
            await member.send(Hello(token=token, client="test", device="bot"))
            while True:
                opcode, payload = await member._frame()
                assert opcode == 0x2, (opcode, payload)
                message = MSGPACK.decode_server(payload)
                member.messages.append(message)
                if isinstance(message, Welcome):
                    return member, message

    async def send(self, message: object) -> None:
        """One masked binary frame (what a client must send)."""
        payload = MSGPACK.encode(message)
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x82, 0x80 | n)
        elif n < 65536:
            header = struct.pack("!BBH", 0x82, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x82, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        await asyncio.get_running_loop().sock_sendall(self.sock, header + mask + masked)

    async def read_until_close(self, timeout: float = 30.0) -> int | None:
        """Read every frame up to the server's close frame; its close code (None: the
        connection ended without one)."""
        async with asyncio.timeout(timeout):
            while True:
                try:
                    opcode, payload = await self._frame()
                except ConnectionError:
                    return None
                if opcode == 0x8:
                    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                if opcode in (0x1, 0x2):
                    self.messages.append(MSGPACK.decode_server(payload))
                # pings (0x9) go unanswered: this member is not there

    def close(self) -> None:
        self.sock.close()

    async def _fill(self) -> None:
        data = await asyncio.get_running_loop().sock_recv(self.sock, 1 << 16)
        if not data:
            raise ConnectionResetError("the server closed the connection")
        self.buffer += data

    async def _take(self, n: int) -> bytes:
        while len(self.buffer) < n:
            await self._fill()
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    async def _frame(self) -> tuple[int, bytes]:
        first, second = await self._take(2)
        assert first & 0x80, "fragmented frames are not expected from the server"
        assert not second & 0x80, "server frames are not masked"
        n = second & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", await self._take(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", await self._take(8))
        return first & 0x0F, await self._take(n)
