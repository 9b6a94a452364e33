"""An asyncio TCP proxy on 127.0.0.1 for cutting one node off from a backend.

Point a node at ``proxy.port`` instead of the backend's port, then:

- ``cut()``: every current connection is aborted (both sides see a reset) and new ones are
  accepted and closed at once, like a backend that went away or a dropped route;
- ``blackhole()``: connections stay open but nothing flows in either direction, and new
  ones are accepted and held, like a partition where packets vanish; bytes already sent
  are not lost, they wait (TCP would retransmit them), and flow again on ``restore()``;
- ``restore()``: back to forwarding;
- ``close()``: stop listening and abort everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum

from tests.support.server import free_port

_CHUNK = 64 * 1024


class Mode(enum.Enum):
    FORWARD = "forward"
    CUT = "cut"
    BLACKHOLE = "blackhole"


class _Link:
    """One proxied connection: the client side and the upstream side."""

    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None
        self.tasks: list[asyncio.Task[None]] = []

    def abort(self) -> None:
        for task in self.tasks:
            task.cancel()
        self.client.transport.abort()
        if self.upstream is not None:
            self.upstream.transport.abort()


class TcpProxy:
    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1", port: int | None = None) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = port or free_port()
        self.mode = Mode.FORWARD
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._links: set[_Link] = set()
        self._server: asyncio.Server | None = None
        self.accepted = 0  # connections accepted so far, whatever the mode

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def url(self, scheme: str = "redis", path: str = "/0") -> str:
        """e.g. ``redis://127.0.0.1:PORT/0`` to hand to a node instead of the backend's URL."""
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    @property
    def connections(self) -> int:
        return len(self._links)

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        return self

    async def __aenter__(self) -> TcpProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def cut(self) -> None:
        """Abort every connection now; accept-and-close new ones until ``restore()``."""
        self.mode = Mode.CUT
        self._flowing.set()
        for link in list(self._links):
            link.abort()
        self._links.clear()

    def blackhole(self) -> None:
        """Stop all flow (existing and new connections) until ``restore()``."""
        self.mode = Mode.BLACKHOLE
        self._flowing.clear()

    def restore(self) -> None:
        self.mode = Mode.FORWARD
        self._flowing.set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.abort()
        self._links.clear()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.mode is Mode.CUT:
            writer.transport.abort()
            return
        link = _Link(writer)
        self._links.add(link)
        try:
            await self._flowing.wait()  # a blackholed connection is held, not refused
            if link not in self._links:  # cut while held
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
            except OSError:
                link.abort()
                return
            link.upstream = up_writer
            if link not in self._links:
                link.abort()
                return
            link.tasks = [
                asyncio.create_task(self._pump(reader, up_writer, link)),
                asyncio.create_task(self._pump(up_reader, writer, link)),
            ]
            await asyncio.gather(*link.tasks, return_exceptions=True)
        finally:
            self._links.discard(link)
            link.abort()

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, link: _Link) -> None:
        try:
            while True:
                await self._flowing.wait()
                data = await src.read(_CHUNK)
                if not data:
                    break
                await self._flowing.wait()  # blackholed mid-read: hold the bytes
                dst.write(data)
                await dst.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            # one side ended: end the whole link (a half-open proxy would confuse clients)
            for task in link.tasks:
                if task is not asyncio.current_task():
                    task.cancel()
