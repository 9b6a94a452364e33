"""Messages between the controller and its worker processes, and the channel they travel
on: a ``multiprocessing`` Pipe's socket driven by asyncio streams, each message msgpack
behind a 4-byte length. (The Pipe's own ``send_bytes``/``recv_bytes`` block, and fail
with ``BlockingIOError`` half-way through a large message once an event loop has made
the socket non-blocking.)"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import typing
from multiprocessing.connection import Connection
from typing import Literal

import msgspec

_HEADER: typing.Final = struct.Struct("!I")
MAX_MESSAGE: typing.Final = 1 << 30


class Channel:
    """One end of a controller <-> worker link. ``send`` never blocks (buffered)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, conn: Connection) -> Channel:
        sock = socket.socket(fileno=os.dup(conn.fileno()))
        conn.close()
        reader, writer = await asyncio.open_connection(sock=sock, limit=MAX_MESSAGE)
        return cls(reader, writer)

    def send(self, data: bytes) -> None:
        if not self._writer.is_closing():
            self._writer.write(_HEADER.pack(len(data)) + data)

    async def drain(self) -> None:
        await self._writer.drain()

    async def recv(self) -> bytes:
        """The next message; ``EOFError`` when the other end is gone."""
        try:
            (size,) = _HEADER.unpack(await self._reader.readexactly(_HEADER.size))
            return await self._reader.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise EOFError("channel closed") from exc

    def close(self) -> None:
        self._writer.close()


class MemberSpec(msgspec.Struct, array_like=True):
    arrival: int  # global arrival order
    room: int  # room index
    index: int  # member index in the room (0: the owner)
    room_id: str
    http_url: str
    ws_url: str
    token: str  # the owner's token; "" for members, who accept ``invite`` first
    invite: str
    shopper: str  # Shopper class name in the scenario
    at: float  # arrival, seconds after the start
    node: int = 0  # index of http_url in the run's URLs


class WorkerSpec(msgspec.Struct):
    index: int
    scenario: str
    params: dict[str, str]
    members: list[MemberSpec]
    room_size: int
    format: Literal["msgpack", "json"]
    duration: float
    op_rate: float
    payload_bytes: int
    seed: int
    connect_timeout: float = 15.0
    op_timeout: float = 30.0
    join_concurrency: int = 64  # joins (REST accept + connect) in flight per worker
    check_kind: str | None = None  # op kind counted per member for the fan-out count check
    nodes: int = 1  # URLs in the run: with more than one, deliveries are also timed per link


# ---- controller -> worker ------------------------------------------------------------


class Setup(msgspec.Struct, tag=True):
    spec: WorkerSpec


class Go(msgspec.Struct, tag=True):
    t0_ns: int  # perf_counter_ns of the run's start (one clock for all processes)


class Stop(msgspec.Struct, tag=True):
    """End the load phase now (Ctrl-C)."""


class Storm(msgspec.Struct, tag=True):
    """Drop every connection at once (no close frame); the clients resume."""


class Sync(msgspec.Struct, tag=True):
    heads: dict[int, int]  # room index -> the server's head seq


class Exit(msgspec.Struct, tag=True):
    pass


ToWorker = Setup | Go | Stop | Storm | Sync | Exit


# ---- worker -> controller ------------------------------------------------------------


class Booted(msgspec.Struct, tag=True):
    """The process is up and imported; it waits for its ``Setup``."""

    worker: int


class Ready(msgspec.Struct, tag=True):
    worker: int


class Tick(msgspec.Struct, tag=True):
    worker: int
    second: int
    connected: int
    counters: dict[str, int]  # cumulative
    errors: dict[str, int]  # cumulative
    hist: dict[str, str]  # interval HDR histograms (encoded), this second only


class Quiesced(msgspec.Struct, tag=True):
    worker: int


class MemberState(msgspec.Struct, array_like=True):
    room: int
    member: str
    live: bool  # still a working client at the end (not stopped for good)
    seq: int
    epoch: str
    digest: str
    first_seq: int
    delivered: int
    skipped: int
    check_acked: int  # ops of the checked kind this member got acked
    check_delivered: int  # events of the checked kind this member received
    check_seqs: list[int] = []  # the seqs of this member's acked ops of the checked kind


class Final(msgspec.Struct, tag=True):
    worker: int
    counters: dict[str, int]
    errors: dict[str, int]
    rejections: dict[str, int]
    disconnects: dict[str, int]
    sent_by_kind: dict[str, int]
    acked_by_kind: dict[str, int]
    delivered_by_kind: dict[str, int]
    finding_counts: dict[str, int]
    findings: list[dict[str, object]]
    states: list[MemberState]
    hist: dict[str, str]  # what the interval histograms held since the last tick
    scenario_errors: list[str]


class Failed(msgspec.Struct, tag=True):
    worker: int
    error: str


FromWorker = Booted | Ready | Tick | Quiesced | Final | Failed

encoder = msgspec.msgpack.Encoder()
to_worker = msgspec.msgpack.Decoder(ToWorker)
from_worker = msgspec.msgpack.Decoder(FromWorker)
