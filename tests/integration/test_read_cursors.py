"""Read cursors, unread counts and away over real sockets (SPEC section 15)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from cosession.config import Settings
from protocol.errors import ErrorCode
from protocol.messages import (
    Away,
    CartAdd,
    Chat,
    Error,
    Event,
    Ping,
    Pong,
    PresenceUpdate,
    Product,
    Read,
    ReadSignal,
    Unread,
    Vote,
)
from tests.support.inprocess import InProcessServer, running_app
from tests.support.raw import RawClient

WAIT = 10.0
SHIRT = Product(id="shirt", name="Shirt", price=2500, currency="EUR")


def settings(tmp_path: Path, **changes: object) -> Settings:
    base = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", sqlite_synchronous="NORMAL")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def accept(server: InProcessServer, code: str, name: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{server.http_url}/v1/invites/{code}/accept", json={"name": name})
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data


async def quiet(client: RawClient, kind: type, seconds: float = 0.3) -> list[Any]:
    """What of ``kind`` arrives within ``seconds`` (a ping round trip bounds the wait)."""
    await client.send(Ping(nonce=7))
    got = []
    async with asyncio.timeout(WAIT):
        while True:
            msg = await client.recv(WAIT)
            if isinstance(msg, kind):
                got.append(msg)
            if isinstance(msg, Pong) and msg.nonce == 7:
                break
    await asyncio.sleep(seconds)
    return got


async def test_a_cursor_moves_forward_only_syncs_to_other_connections_and_is_stored(tmp_path: Path) -> None:
    async with running_app(settings(tmp_path)) as server:
        room = await server.create_room()
        phone, welcome = await RawClient.join(server.ws_url, room["token"])
        assert welcome.read == welcome.seq  # no cursor yet: what it joined into is read
        laptop, _ = await RawClient.join(server.ws_url, room["token"])
        for i in range(5):
            await phone.op(Chat(text=f"note {i}"))
        events = await laptop.events_until(welcome.seq + 5)
        head = events[-1].seq
        await phone.send(Read(seq=head - 2))
        assert (await laptop.expect(ReadSignal, timeout=WAIT)).seq == head - 2
        await phone.send(Read(seq=head - 3))  # backwards: nothing moves, nobody hears
        await phone.send(Read(seq=2**53))  # beyond the head: clamped to the head
        assert (await laptop.expect(ReadSignal, timeout=WAIT)).seq == head
        assert [m.seq for m in await quiet(phone, ReadSignal)] == []  # never told its own move
        assert [m.seq for m in laptop.seen if isinstance(m, ReadSignal)] == [head - 2, head]
        await server.services.registry.cursor_writer.flush()
        await phone.close()
        await laptop.close()
    async with running_app(settings(tmp_path)) as server:  # a restart: the cursor was stored
        again, welcome = await RawClient.join(server.ws_url, room["token"])
        assert welcome.read == head and welcome.unread is None
        await again.close()


@pytest.mark.parametrize("history", [1000, 8], ids=["replay-window", "stored-log"])
async def test_welcome_counts_what_others_did_after_the_cursor(tmp_path: Path, history: int) -> None:
    async with running_app(settings(tmp_path, history_events=history)) as server:
        room = await server.create_room()
        bea = await accept(server, room["invite"]["code"], "Bea")
        owner, welcome = await RawClient.join(server.ws_url, room["token"])
        friend, fw = await RawClient.join(server.ws_url, bea["token"])
        await owner.send(Read(seq=fw.seq))
        await owner.op(Chat(text="back soon"))  # the owner's own: never unread
        await owner.close()
        await friend.op(CartAdd(product=SHIRT))
        line = (await friend.expect(Event, timeout=WAIT, by=bea["member"])).seq
        for i in range(39):  # 40 events by Bea: chats, cart adds and votes (votes are not counted)
            if i % 3 == 0:
                await friend.op(Chat(text=f"look {i}"))
            elif i % 3 == 1:
                await friend.op(CartAdd(product=msgspec.structs.replace(SHIRT, id=f"p{i}")))
            else:
                await friend.op(Vote(line=line, value="up" if i % 2 else "down"))
        events = await friend.events_until(line + 39)
        expected = Unread(
            messages=sum(1 for e in events if isinstance(e.op, Chat) and e.by == bea["member"]),
            cart=1 + sum(1 for e in events if isinstance(e.op, CartAdd)),  # the first add: `line`
        )
        assert expected.messages > 0 and expected.cart > 0
        await server.services.registry.cursor_writer.flush()
        back, welcome = await RawClient.join(server.ws_url, room["token"])
        assert welcome.read == fw.seq
        assert welcome.unread == expected
        await back.close()
        await friend.close()


async def test_malformed_and_flooding_read_frames(tmp_path: Path) -> None:
    async with running_app(settings(tmp_path, ops_burst=10, ops_per_second=1.0)) as server:
        room = await server.create_room()
        client, welcome = await RawClient.join(server.ws_url, room["token"])
        for bad in ('{"t":"read"}', '{"t":"read","seq":-1}', '{"t":"read","seq":"3"}', '{"t":"away","on":1}'):
            await client.send_raw(msgspec.msgpack.encode(json.loads(bad)))
            assert (await client.expect(Error, timeout=WAIT)).code == ErrorCode.INVALID_FIELD
        writer = server.services.registry.cursor_writer
        before = writer.writes
        for _ in range(12):  # past the bucket: refused like any frame
            await client.send(Read(seq=welcome.seq))
        refused = await client.expect(Error, timeout=WAIT, code=ErrorCode.RATE_LIMITED)
        assert refused.ref is None
        assert writer.writes == before  # a cursor that did not move is never written
        await client.close()


async def test_a_flood_of_moving_cursors_is_coalesced(tmp_path: Path) -> None:
    async with running_app(settings(tmp_path, ops_burst=1000, ops_per_second=1000.0)) as server:
        room = await server.create_room()
        client, welcome = await RawClient.join(server.ws_url, room["token"])
        for i in range(60):
            await client.op(Chat(text=f"m{i}"))
        head = (await client.events_until(welcome.seq + 60))[-1].seq
        writer = server.services.registry.cursor_writer
        before = writer.writes
        for seq in range(welcome.seq + 1, head + 1):
            await client.send(Read(seq=seq))
        await quiet(client, Error, 0.0)
        await writer.flush()
        assert writer.writes - before < head - welcome.seq  # fewer transactions than moves
        assert await writer.store.get(room["room"], room["member"]) == head
        await client.close()


async def test_away_is_per_member_and_a_backgrounded_member_is_away_not_left(tmp_path: Path) -> None:
    async with running_app(settings(tmp_path, presence_grace=0.2, away_grace=1.5)) as server:
        room = await server.create_room()
        bea = await accept(server, room["invite"]["code"], "Bea")
        watcher, _ = await RawClient.join(server.ws_url, room["token"])
        tab1, _ = await RawClient.join(server.ws_url, bea["token"])
        tab2, _ = await RawClient.join(server.ws_url, bea["token"])

        async def bea_presence() -> PresenceUpdate:
            return await watcher.expect(PresenceUpdate, timeout=WAIT, member=_Member(bea["member"]))

        await tab1.send(Away(on=True))  # one of two tabs hidden: not away
        assert not any(m.member.away for m in await quiet(watcher, PresenceUpdate) if m.member.member == bea["member"])
        await tab2.send(Away(on=True))
        assert (await bea_presence()).member.away is True
        await tab2.send(Away(on=False))
        assert (await bea_presence()).member.away is False
        await tab2.close()  # the visible tab goes; the hidden one stays
        update = await bea_presence()
        assert update.kind == "update" and update.member.away is True and update.member.connections == 1
        await tab1.close()  # the phone froze the background tab: away for away_grace, not left
        await asyncio.sleep(0.6)  # three presence graces
        assert [m for m in watcher.seen[-3:] if isinstance(m, PresenceUpdate) and m.kind == "leave"] == []
        assert [p.member for p in (await RawClient.join(server.ws_url, room["token"]))[1].presence if p.away] == [
            bea["member"]
        ]
        left = await bea_presence()
        assert left.kind == "leave"
        await watcher.close()


class _Member:
    """Matches a PresenceMember by id (RawClient.expect compares with ==)."""

    def __init__(self, member: str) -> None:
        self.member = member

    def __eq__(self, other: object) -> bool:
        return getattr(other, "member", None) == self.member

    __hash__ = None  # type: ignore[assignment]


async def test_read_before_hello_and_oversized_read_frames(tmp_path: Path) -> None:
    async with running_app(settings(tmp_path)) as server:
        room = await server.create_room()
        early = await RawClient.open(server.ws_url)
        await early.send(Read(seq=1))  # not joined: no cursor to move
        assert (await early.expect(Error, timeout=WAIT)).code == ErrorCode.HELLO_EXPECTED
        assert await early.closed_with(WAIT) == 4000
        client, _ = await RawClient.join(server.ws_url, room["token"])
        await client.send_raw(msgspec.msgpack.encode({"t": "read", "seq": 1, "pad": "x" * 70_000}))
        assert await client.closed_with(WAIT) == 1009
        assert await server.services.registry.cursor_writer.store.get(room["room"], room["member"]) <= 1
