"""Two aiortc clients (the Python client's ``Call``) in one room call each other through
the server's signaling: each receives the other's audio frames and a data-channel message
round-trips; then the same forced through a real coturn (relay only) with the credentials
from the welcome, and not at all with tampered ones."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cosession_client.call import Call
from cosession_client.client import RoomClient
from protocol.messages import IceServer
from tests.support.backends import missing_backend
from tests.support.loopback_ice import loopback_only
from tests.support.server import ServerProcess
from tests.support.turn_server import TurnServer, turnserver_binary

FRAMES = 25  # half a second of 20 ms audio frames


@pytest.fixture
async def turn(tmp_path: Path) -> AsyncIterator[TurnServer]:
    if turnserver_binary() is None:
        missing_backend("coturn (turnserver)")
    server = TurnServer(tmp_path / "turn")
    await server.start()
    try:
        yield server
    finally:
        server.stop()


async def _two_members(server: ServerProcess) -> tuple[RoomClient, RoomClient]:
    room = await server.create_room()
    bo = await server.accept(room["invite"]["code"], "Bo")
    ana = await RoomClient.connect(room["token"], server=server.http_url)
    bob = await RoomClient.connect(bo["token"], server=server.http_url)
    return ana, bob


async def test_two_aiortc_clients_call_each_other(server: ServerProcess) -> None:
    ana, bob = await _two_members(server)
    with loopback_only():
        a, b = Call(ana, ice_servers=[], video=True), Call(bob, ice_servers=[])  # ana shows the shelf
        try:
            await a.join()
            await a.wait_for(lambda: a.members == [ana.member])
            await b.join()
            assert await a.wait_frames(bob.member, "audio", FRAMES) >= FRAMES
            assert await b.wait_frames(ana.member, "audio", FRAMES) >= FRAMES
            assert await b.wait_frames(ana.member, "video", 5) >= 5  # ana's camera: the pattern track
            assert a.frames[bob.member]["video"] == 0  # bob sends no video
            await b.send_data(ana.member, "is this the one?")
            async with asyncio.timeout(10):
                assert await a.data.get() == (bob.member, "is this the one?")
            await a.send_data(bob.member, "yes, the blue one")
            async with asyncio.timeout(10):
                assert await b.data.get() == (ana.member, "yes, the blue one")
            assert a.errors == [] and b.errors == []
            assert "host" in a.local_candidate_types(bob.member)
        finally:
            await a.leave()
            await b.leave()
            await ana.close()
            await bob.close()


async def test_a_call_forced_through_coturn(turn: TurnServer, server_factory) -> None:  # type: ignore[no-untyped-def]
    server = await server_factory("--turn-url", turn.url, "--turn-secret", turn.secret, "--turn-ttl", "600")
    ana, bob = await _two_members(server)
    a, b = Call(ana, relay_only=True), Call(bob, relay_only=True)  # ICE servers: the welcome's
    with loopback_only():
        await _relayed_call(ana, bob, a, b)


async def _relayed_call(ana: RoomClient, bob: RoomClient, a: Call, b: Call) -> None:
    try:
        await a.join()
        await a.wait_for(lambda: a.members == [ana.member])
        await b.join()
        assert await a.wait_frames(bob.member, "audio", FRAMES, timeout=30) >= FRAMES
        assert await b.wait_frames(ana.member, "audio", FRAMES, timeout=30) >= FRAMES
        # relay only: every candidate either side offered is a TURN relay on coturn
        assert b.local_candidate_types(ana.member) == {"relay"}
        assert a.local_candidate_types(bob.member) == {"relay"}
        await b.send_data(ana.member, "through the relay")
        async with asyncio.timeout(10):
            assert await a.data.get() == (bob.member, "through the relay")
    finally:
        await a.leave()
        await b.leave()
        await ana.close()
        await bob.close()


async def test_tampered_turn_credentials_get_no_relay(turn: TurnServer, server_factory) -> None:  # type: ignore[no-untyped-def]
    server = await server_factory("--turn-url", turn.url, "--turn-secret", turn.secret)
    ana, bob = await _two_members(server)

    def tampered(client: RoomClient) -> list[IceServer]:
        (issued,) = client.ice_servers
        assert issued.credential
        wrong = ("y" if issued.credential[0] == "x" else "x") + issued.credential[1:]  # always a changed password
        return [IceServer(urls=issued.urls, username=issued.username, credential=wrong)]

    a = Call(ana, relay_only=True, ice_servers=tampered(ana))
    b = Call(bob, relay_only=True, ice_servers=tampered(bob))
    with loopback_only():
        await _refused_call(ana, bob, a, b)


async def _refused_call(ana: RoomClient, bob: RoomClient, a: Call, b: Call) -> None:
    try:
        await a.join()
        await a.wait_for(lambda: a.members == [ana.member])
        await b.join()
        # the later joiner offers once its (failed) TURN gathering is over
        await b.wait_for(lambda: ana.member in b.peers and b.peers[ana.member].pc.localDescription is not None)
        with pytest.raises(TimeoutError):
            await a.wait_frames(bob.member, "audio", 1, timeout=6)
        assert b.local_candidate_types(ana.member) == set()  # coturn refused the allocation
        assert b.frames[ana.member]["audio"] == 0
    finally:
        await a.leave()
        await b.leave()
        await ana.close()
        await bob.close()
