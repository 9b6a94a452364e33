"""Per-room resource bounds against a real server: connections per member, and the
number of members a room can ever hold (invite accept and the gateway's hello)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from cosession.config import Settings
from cosession_client import ConnectionClosedFinal, RoomClient
from protocol.errors import CloseCode, ErrorCode
from protocol.messages import Error, Hello, Welcome
from tests.conftest import ServerFactory
from tests.support.raw import RawClient
from tests.support.server import ServerProcess


def test_documented_defaults() -> None:
    s = Settings()
    assert s.max_connections_per_member == 16
    assert s.max_room_members == 10_000
    assert s.rooms_per_minute == 60 and s.accepts_per_minute == 3000 and s.pk_invites_per_minute == 60


async def _refused(server: ServerProcess, token: str) -> tuple[Error, int | None]:
    client = await RawClient.open(server.ws_url)
    await client.send(Hello(token=token, client="test"))
    error = await client.expect(Error)
    return error, await client.closed_with()


async def test_connections_per_member_are_capped(server_factory: ServerFactory) -> None:
    server = await server_factory("--max-connections-per-member", "2")
    room = await server.create_room()
    first, _ = await RawClient.join(server.ws_url, room["token"])
    second, _ = await RawClient.join(server.ws_url, room["token"])
    error, code = await _refused(server, room["token"])
    assert error.code == ErrorCode.TOO_MANY_CONNECTIONS
    assert code == CloseCode.TOO_MANY_CONNECTIONS
    # another member is not affected, and a closed tab frees its slot
    bea = await server.accept(room["invite"]["code"], "Bea")
    other, _ = await RawClient.join(server.ws_url, bea["token"])
    await first.close()
    deadline = time.monotonic() + 10
    while True:
        client = await RawClient.open(server.ws_url)
        await client.send(Hello(token=room["token"], client="test"))
        msg = await client.recv()
        if isinstance(msg, Welcome):
            break
        assert isinstance(msg, Error) and msg.code == ErrorCode.TOO_MANY_CONNECTIONS
        assert time.monotonic() < deadline, "the closed connection's slot was never freed"
        await client.closed_with()
        await asyncio.sleep(0.05)
    for c in (second, other, client):
        await c.close()


async def test_python_client_stops_on_too_many_connections(server_factory: ServerFactory) -> None:
    server = await server_factory("--max-connections-per-member", "1")
    room = await server.create_room()
    async with RoomClient.connect(room["token"], server=server.http_url) as first:
        assert first.connected
        with pytest.raises(ConnectionClosedFinal) as refused:
            async with asyncio.timeout(10):
                await RoomClient.connect(room["token"], server=server.http_url, backoff=(0.01, 0.01))
        assert refused.value.code == CloseCode.TOO_MANY_CONNECTIONS
        assert refused.value.error == ErrorCode.TOO_MANY_CONNECTIONS


async def test_members_a_room_can_ever_hold_are_capped(server_factory: ServerFactory) -> None:
    server = await server_factory("--max-room-members", "3")
    room = await server.create_room()  # the owner joins on first hello: member 1
    owner, _ = await RawClient.join(server.ws_url, room["token"])
    code = room["invite"]["code"]
    a = await server.accept(code, "A")
    b = await server.accept(code, "B")  # accepted while there was room for it ...
    joined, _ = await RawClient.join(server.ws_url, a["token"])  # member 2
    c = await server.accept(code, "C")
    late_join, welcome = await RawClient.join(server.ws_url, c["token"])  # member 3: the cap
    assert len(welcome.snapshot.members if welcome.snapshot else {}) == 3
    # ... but the room filled up before B's first hello
    error, close = await _refused(server, b["token"])
    assert error.code == ErrorCode.TOO_MANY_MEMBERS and close == CloseCode.ROOM_FULL
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        r = await http.post(f"/v1/invites/{code}/accept", json={"name": "D"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "too_many_members", r.text
    # members already in the room still come back
    await joined.close()
    again, _ = await RawClient.join(server.ws_url, a["token"])
    for client in (owner, late_join, again):
        await client.close()


async def _rooms_loaded(http: httpx.AsyncClient) -> int:
    text = (await http.get("/metrics")).text
    return int(float(next(line.split()[1] for line in text.splitlines() if line.startswith("cosession_rooms_loaded "))))


async def test_rooms_read_over_rest_leave_memory_when_idle(server_factory: ServerFactory) -> None:
    """Accept, invite info, the invite page and snapshots load a room; nobody joins it, so it
    must still be unloaded after the idle delay (not pinned in memory forever)."""
    server = await server_factory("--room-idle-unload", "0.3")
    room = await server.create_room()
    code = room["invite"]["code"]
    auth = {"authorization": f"Bearer {room['token']}"}
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:

        async def unloaded() -> None:
            deadline = time.monotonic() + 10
            while await _rooms_loaded(http) != 0:
                assert time.monotonic() < deadline, "an idle room stayed in memory"
                await asyncio.sleep(0.05)

        await unloaded()
        for method, path, body, headers in (
            ("POST", f"/v1/invites/{code}/accept", {"name": "Bea"}, None),
            ("GET", f"/v1/invites/{code}", None, None),
            ("GET", f"/r/{code}", None, None),
            ("GET", f"/v1/rooms/{room['room']}/snapshot", None, auth),
        ):
            r = await http.request(method, path, json=body, headers=headers)
            assert r.status_code in (200, 201), (path, r.text)
            assert await _rooms_loaded(http) == 1, path
            await unloaded()


async def test_rooms_whose_hellos_are_refused_leave_memory_when_idle(server_factory: ServerFactory) -> None:
    """A hello the room refuses (here: the room cannot take another member) loads the room
    without joining it; the room must still be unloaded after the idle delay."""
    server = await server_factory("--room-idle-unload", "0.3", "--max-room-members", "2")
    room = await server.create_room()
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:

        async def unloaded(why: str) -> None:
            deadline = time.monotonic() + 10
            while await _rooms_loaded(http) != 0:
                assert time.monotonic() < deadline, why
                await asyncio.sleep(0.05)

        tokens = []
        for name in ("Bea", "Cid"):  # members enter the state at their first hello
            accepted = await http.post(f"/v1/invites/{room['invite']['code']}/accept", json={"name": name})
            assert accepted.status_code == 201, accepted.text
            tokens.append(accepted.json()["token"])
        bea, _ = await RawClient.join(server.ws_url, tokens[0])  # owner + Bea: the room is at its cap
        await bea.close()
        await unloaded("the room never left memory after its last member left")
        for _ in range(3):
            error, code = await _refused(server, tokens[1])
            assert error.code == ErrorCode.TOO_MANY_MEMBERS and code == CloseCode.ROOM_FULL
        await unloaded("a room whose hellos were refused stayed in memory")
