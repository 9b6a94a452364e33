"""The baseline: a bare ``websockets`` fan-out server, the least a room server can do.

The first message of a connection names its room (``join:<room>``); every later message
from any member is broadcast, the same bytes, to every member of that room, the sender
included, with ``websockets.broadcast`` (no queueing, no backpressure, no storage). It runs
on uvloop, with no compression, like ``cosession serve``.

    python -m benchmarks.bare_server --port 8765
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import signal

import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve

ROOMS: dict[str, set[ServerConnection]] = {}


async def handler(ws: ServerConnection) -> None:
    first = await ws.recv()
    name = first.decode() if isinstance(first, bytes) else first
    if not name.startswith("join:"):
        await ws.close(1008, "first message must be join:<room>")
        return
    room = ROOMS.setdefault(name[5:], set())
    room.add(ws)
    try:
        async for message in ws:
            broadcast(room, message)
    finally:
        room.discard(ws)
        if not room:
            ROOMS.pop(name[5:], None)


async def main(host: str, port: int, max_size: int) -> None:
    stop: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_signal() -> None:
        if not stop.done():
            stop.set_result(None)

    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, on_signal)
    async with serve(handler, host, port, compression=None, max_size=max_size, backlog=2048):
        print(f"bare server on ws://{host}:{port}", flush=True)
        await stop


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--max-size", type=int, default=64 * 1024, help="largest incoming message (bytes)")
    args = parser.parse_args()
    raise_nofile()
    uvloop.run(main(args.host, args.port, args.max_size))
