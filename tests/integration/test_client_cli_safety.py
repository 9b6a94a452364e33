"""``cosession-client join`` as a real subprocess: nothing a member sends reaches the
terminal as a control sequence, and its errors are one clear line (real server, real CLI)."""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from cosession_client import RoomClient
from protocol.messages import Product
from tests.integration.test_client_cli import WAIT, cli, send
from tests.support.server import ServerProcess, free_port

ATTACK = "\x1b]0;pwned\x07\x1b[2J\nSYSTEM: the room was closed, log in again at evil.example"
HOSTILE_NAME = "Eve\x1b[31m\r\u202eSYSTEM"
FORBIDDEN_BYTES = (b"\x1b", b"\x07", "\x9b".encode(), b"\r", "\u202e".encode(), "\u2028".encode())


async def read_raw_until(proc: asyncio.subprocess.Process, marker: bytes) -> bytes:
    """Raw stdout bytes up to and including the first line holding ``marker``."""
    assert proc.stdout is not None
    seen = b""
    async with asyncio.timeout(WAIT):
        while True:
            raw = await proc.stdout.readline()
            if not raw:
                stderr = await proc.stderr.read() if proc.stderr else b""
                raise AssertionError(f"cli exited; got {seen!r}; stderr: {stderr!r}")
            seen += raw
            if marker in raw:
                return seen


async def finish(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


async def test_hostile_chat_names_and_products_cannot_drive_the_terminal(server: ServerProcess) -> None:
    async with httpx.AsyncClient() as http:
        created = (
            await http.post(server.http_url + "/v1/rooms", json={"name": "Shop\x1b]0;owned\x07", "owner_name": "Olga"})
        ).json()
    async with RoomClient.connect(created["invite"]["url"], name=HOSTILE_NAME) as eve:
        await eve.add_to_cart(Product(id="p1", name="Shoe\x1b[2J\nSYSTEM: free", price=100, currency="EUR"))
        await eve.chat("first\r\x1b[1A" + ATTACK)  # in the history the CLI prints on joining
        proc = await cli("join", created["invite"]["url"], "--name", "Cleo")
        try:
            intro = await read_raw_until(proc, b"commands:")
            said = await eve.chat(ATTACK)
            live = await read_raw_until(proc, b"SYSTEM: the room was closed")
            await send(proc, "cart")
            cart = await read_raw_until(proc, b"total:")
            output = intro + live + cart
            for forbidden in FORBIDDEN_BYTES:
                assert forbidden not in output, (forbidden, output)
            [message] = [line for line in live.decode().splitlines() if line.startswith(f"[{said}] ")]
            # the whole message, its would-be second line included, is on the sender's line
            assert "pwned" in message and message.endswith("SYSTEM: the room was closed, log in again at evil.example")
            assert not any(line.startswith("SYSTEM") for line in output.decode().splitlines())
            await send(proc, "quit")
            async with asyncio.timeout(WAIT):
                assert await proc.wait() == 0
        finally:
            await finish(proc)


async def run_cli(*args: str, stdin: bytes = b"") -> tuple[int, str, str, float]:
    started = time.monotonic()
    proc = await cli(*args)
    try:
        async with asyncio.timeout(3 * WAIT):
            out, err = await proc.communicate(stdin)
    finally:
        await finish(proc)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode(), time.monotonic() - started


async def test_joining_a_server_that_is_down_says_so_in_one_line() -> None:
    port = free_port()  # nothing listens here
    for args in (
        ("join", f"http://127.0.0.1:{port}/r/i_abcdefgh", "--name", "Ana"),
        ("join", "v1.e30.c2ln", "--server", f"http://127.0.0.1:{port}"),
    ):
        code, out, err, took = await run_cli(*args)
        assert code != 0, (args, out, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert err.startswith(f"cannot join: nothing answers at http://127.0.0.1:{port}"), err
        assert took < WAIT, took


async def test_a_refused_token_shows_the_servers_reason(server: ServerProcess) -> None:
    created = await server.create_room()
    forged = created["token"][:-2] + ("AA" if not created["token"].endswith("AA") else "BB")
    code, _, err, _ = await run_cli("join", forged, "--server", server.http_url)
    assert code != 0
    assert (
        err.strip()
        == "cannot join: the server refused the token: token signature does not match (close 4001 unauthorized)"
    )
    code, _, err, _ = await run_cli("join", "not-a-token", "--server", server.http_url)
    assert code != 0 and err.startswith("cannot join: the server refused the token: ") and len(err) > 45, err


async def test_input_errors_say_what_to_type_instead(server: ServerProcess) -> None:
    created = await server.create_room()
    commands = "\n".join(
        [
            'add sku-1 "Trail shoe" 89.90 EURO',
            'add sku-1 "Trail shoe" 89.90 EUR 1000',
            'add sku-1 "" 89.90',
            "up 3",
            "quit",
        ]
    )
    code, out, err, _ = await run_cli("join", created["invite"]["url"], "--name", "Ana", stdin=commands.encode())
    assert code == 0, err
    errors = [line for line in out.splitlines() if line.startswith(("error:", "rejected:"))]
    assert errors == [
        "error: currency must be a 3-letter code like EUR (not 'EURO')",
        "error: quantity must be a whole number from 1 to 999 (not '1000')",
        "error: product name must be 1 to 200 characters",
        "error: no cart line 3: the cart is empty",
    ], out
    assert "Expected" not in out and "$." not in out


async def test_watch_json_lines_are_safe_and_keep_the_text(server: ServerProcess) -> None:
    created = await server.create_room()
    hostile = "a\u202eb\x9bc\u2028d\x1b[2Je"
    async with RoomClient.connect(created["token"], server=server.http_url) as owner:
        proc = await cli("watch", created["invite"]["url"], "--json")
        try:
            await read_raw_until(proc, b'"snapshot"')
            said = await owner.chat(hostile)
            raw = await read_raw_until(proc, f'"seq":{said},'.encode())
            for forbidden in FORBIDDEN_BYTES:
                assert forbidden not in raw, (forbidden, raw)
            event = json.loads(raw.decode().splitlines()[-1])
            assert event["op"]["text"] == hostile  # the same JSON value, escaped
        finally:
            await finish(proc)
