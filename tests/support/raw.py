"""A thin raw-protocol client for tests: send any frame, read typed server messages.

Unlike the real client it never reconnects or retries, so tests can see exactly what
the server sends (including error frames and close codes).
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from protocol.codec import JSON, MSGPACK, Codec
from protocol.messages import Event, Hello, Op, Resume, ServerMessage, Welcome

M = TypeVar("M")


class RawClient:
    def __init__(self, ws: ClientConnection, codec: Codec) -> None:
        self.ws = ws
        self.codec = codec
        self.seen: list[ServerMessage] = []
        self.refs = 0

    @classmethod
    async def open(cls, url: str, fmt: str = "msgpack", **kwargs: Any) -> RawClient:
        codec = JSON if fmt == "json" else MSGPACK
        ws = await connect(url, subprotocols=[codec.subprotocol], open_timeout=10, **kwargs)  # type: ignore[list-item]
        return cls(ws, codec)

    @classmethod
    async def join(
        cls, url: str, token: str, *, fmt: str = "msgpack", resume: Resume | None = None, **kwargs: Any
    ) -> tuple[RawClient, Welcome]:
        client = await cls.open(url, fmt, **kwargs)
        await client.send(Hello(token=token, resume=resume, client="test", device="bot"))
        welcome = await client.expect(Welcome)
        return client, welcome

    async def send(self, message: object) -> None:
        data = self.codec.encode(message)
        await self.ws.send(data if self.codec.binary else data.decode())

    async def send_raw(self, data: bytes | str) -> None:
        await self.ws.send(data)

    async def op(self, body: Any, ref: str | None = None) -> str:
        self.refs += 1
        ref = ref or f"r{self.refs}"
        await self.send(Op(ref=ref, op=body))
        return ref

    async def recv(self, timeout: float = 5.0) -> ServerMessage:
        async with asyncio.timeout(timeout):
            data = await self.ws.recv()
        msg = self.codec.decode_server(data)
        self.seen.append(msg)
        return msg

    async def expect(self, msg_type: type[M], /, timeout: float = 5.0, **fields: Any) -> M:
        """The next message of ``kind`` whose fields match; others are kept in ``seen``."""
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.recv(timeout)
                if isinstance(msg, msg_type) and all(getattr(msg, k) == v for k, v in fields.items()):
                    return msg

    async def events_until(self, seq: int, timeout: float = 10.0) -> list[Event]:
        out: list[Event] = []
        async with asyncio.timeout(timeout):
            while not out or out[-1].seq < seq:
                msg = await self.recv(timeout)
                if isinstance(msg, Event):
                    out.append(msg)
        return out

    async def closed_with(self, timeout: float = 10.0) -> int | None:
        """Read until the server closes; the close code it sent."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    data = await self.ws.recv()
                    try:
                        self.seen.append(self.codec.decode_server(data))
                    except Exception:
                        pass
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd is not None else None

    async def close(self) -> None:
        await self.ws.close()
