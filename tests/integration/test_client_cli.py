"""``cosession-client join|watch`` as a real subprocess against a real server."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Callable
from typing import Any

from cosession_client import RoomClient
from tests.support.server import ServerProcess

WAIT = 15.0


async def cli(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cosession_client.cli",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def read_until(proc: asyncio.subprocess.Process, done: Callable[[str], bool]) -> list[str]:
    """Output lines up to and including the first one for which ``done`` is true."""
    assert proc.stdout is not None
    lines: list[str] = []
    async with asyncio.timeout(WAIT):
        while True:
            raw = await proc.stdout.readline()
            if not raw:
                stderr = await proc.stderr.read() if proc.stderr else b""
                raise AssertionError(f"cli exited; got {lines!r}; stderr: {stderr.decode()}")
            line = raw.decode().rstrip("\n")
            lines.append(line)
            if done(line):
                return lines


async def send(proc: asyncio.subprocess.Process, line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line.encode() + b"\n")
    await proc.stdin.drain()


async def test_join_session(server: ServerProcess) -> None:
    created = await server.create_room(name="Weekend", owner_name="Olga")
    async with RoomClient.connect(created["token"], server=server.http_url) as owner:
        await owner.chat("hello from Olga")
        proc = await cli("join", created["invite"]["url"], "--name", "Cleo")
        try:
            intro = await read_until(proc, lambda line: line.startswith("commands:"))
            assert intro[0].startswith('room "Weekend"') and "you are Cleo (member)" in intro[0]
            assert any("Olga: hello from Olga" in line for line in intro)
            assert any(line.startswith("here: ") and "Cleo" in line for line in intro)

            await send(proc, "add sock 'Wool socks' 1.99 EUR 2")
            added = await read_until(proc, lambda line: line.startswith(("ok:", "rejected:", "error:")))
            assert added[-1] == "ok: cart line 1", added  # lines are numbered as `cart` lists them
            async with asyncio.timeout(WAIT):
                while not owner.state.cart:
                    await asyncio.sleep(0.02)
            [item] = owner.state.cart
            assert (item.product.name, item.product.price, item.qty) == ("Wool socks", 199, 2)

            said = await owner.chat("nice socks")
            await read_until(proc, lambda line: line == f"[{said}] Olga: nice socks")
            await send(proc, "cart")
            await read_until(proc, lambda line: line.strip() == "total: 3.98 EUR")
            await send(proc, "rm 999")
            await read_until(proc, lambda line: line.startswith("error: no cart line 999"))
            await send(proc, "up 1")
            voted = await read_until(proc, lambda line: "voted up" in line)
            assert voted[-1].endswith("Cleo voted up on Wool socks (line 1)")
            await send(proc, "quit")
            async with asyncio.timeout(WAIT):
                assert await proc.wait() == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def test_watch_prints_json_lines(server: ServerProcess) -> None:
    created = await server.create_room()
    async with RoomClient.connect(created["token"], server=server.http_url) as owner:
        proc = await cli("watch", created["invite"]["url"], "--json")
        try:
            first = await read_until(proc, lambda _: True)
            snapshot: dict[str, Any] = json.loads(first[0])
            assert snapshot["t"] == "snapshot" and snapshot["room"] == owner.room
            said = await owner.chat("anyone?")
            lines = await read_until(proc, lambda line: json.loads(line).get("seq") == said)
            event = json.loads(lines[-1])
            assert event["t"] == "event" and event["op"] == {"t": "chat", "text": "anyone?"}
            assert all(isinstance(json.loads(line), dict) for line in lines)
            proc.send_signal(signal.SIGINT)
            async with asyncio.timeout(WAIT):
                assert await proc.wait() in (0, 130)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
