"""The Python client's read cursor, unread counts and away (SPEC 15) against a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from cosession_client import RoomClient
from cosession_client.cli_render import render_room, render_who
from protocol.messages import Product, Unread
from tests.support.server import ServerProcess

WAIT = 10.0


async def until(check: Callable[[], bool | Awaitable[bool]], what: str, timeout: float = WAIT) -> None:
    async with asyncio.timeout(timeout):
        while True:
            result = check()
            if result if isinstance(result, bool) else await result:
                return
            await asyncio.sleep(0.02)
    raise AssertionError(what)  # pragma: no cover - the timeout raises first


def product(i: int) -> Product:
    return Product(id=f"sku-{i}", name=f"Item {i}", price=1000 + i, currency="EUR")


async def test_a_member_away_during_40_events_comes_back_to_exact_unread_counts(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = await server_factory("--presence-grace", "0.3")
    created = await server.create_room()
    ben_token = (await server.accept(created["invite"]["code"], "Ben"))["token"]
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        ben = await RoomClient.connect(ben_token, server=server.http_url, auto_read=True)
        line = await ana.add_to_cart(product(0))
        await ben.wait_for_seq(line)
        await until(lambda: ben.read_cursor == line, "ben's auto_read moves his cursor")
        ben.away(True)  # the phone goes to the background...
        await until(lambda: ana.presence.get(ben.member) is not None and ana.presence[ben.member].away, "away")
        await ben.close()  # ...and the OS closes its socket: away, not left
        await asyncio.sleep(1.0)  # three presence graces
        assert ana.presence[ben.member].away is True
        assert render_who(ana) == ["here: Olga (you), Ben (member, bot, away)"]
        messages = cart = 0
        for i in range(40):
            if i % 4 == 0:
                await ana.chat(f"what about this one? {i}")
                messages += 1
            elif i % 4 == 1:
                await ana.add_to_cart(product(i))
                cart += 1
            elif i % 4 == 2:
                await ana.set_quantity(line, 1 + i % 5)
                cart += 1
            else:
                await ana.vote(line, "up" if i % 8 == 3 else "down")  # votes are not counted
        back = await RoomClient.connect(ben_token, server=server.http_url)
        try:
            assert back.read_cursor == line
            assert back.since_last_visit == Unread(messages=10, cart=20)
            assert back.unread == Unread(messages=10, cart=20)
            assert "since you were here: 10 new messages, 20 cart changes" in render_room(back)
            await until(lambda: not ana.presence[ben.member].away, "a new connection is not away")
            await ana.chat("welcome back")
            await back.wait_for_seq(ana.seq)
            assert back.unread == Unread(messages=11, cart=20)
            back.mark_read()
            assert back.unread == Unread()
            assert back.since_last_visit == Unread(messages=10, cart=20)  # the summary stays
        finally:
            await back.close()


async def test_read_cursors_agree_across_two_devices_of_one_member(server) -> None:  # type: ignore[no-untyped-def]
    created = await server.create_room()
    ben_token = (await server.accept(created["invite"]["code"], "Ben"))["token"]
    async with (
        RoomClient.connect(created["token"], server=server.http_url) as ana,
        RoomClient.connect(ben_token, server=server.http_url, device="phone") as phone,
        RoomClient.connect(ben_token, server=server.http_url, device="desktop") as laptop,
    ):
        for i in range(6):
            await ana.chat(f"m{i}")
        await phone.wait_for_seq(ana.seq)
        await laptop.wait_for_seq(ana.seq)
        assert phone.unread == laptop.unread == Unread(messages=6)
        phone.mark_read(ana.seq - 2)
        await until(lambda: laptop.read_cursor == ana.seq - 2, "the laptop hears the phone's cursor")
        assert laptop.unread == Unread(messages=2)
        laptop.mark_read()
        await until(lambda: phone.read_cursor == ana.seq, "the phone hears the laptop's cursor")
        phone.mark_read(ana.seq - 4)  # never backwards
        assert phone.read_cursor == laptop.read_cursor == ana.seq
        assert phone.unread == laptop.unread == Unread()
