"""A real coturn (``use-auth-secret``) accepts exactly the TURN credentials a welcome hands
out: they allocate a relay; a tampered, another member's or an expired one does not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cosession.calls.ice import turn_credentials
from tests.support.backends import missing_backend
from tests.support.raw import RawClient
from tests.support.server import ServerProcess
from tests.support.turn_server import TurnServer, turnserver_binary, uclient_binary


@pytest.fixture
async def turn(tmp_path: Path) -> AsyncIterator[TurnServer]:
    if turnserver_binary() is None or uclient_binary() is None:
        missing_backend("coturn (turnserver, turnutils_uclient)")
    server = TurnServer(tmp_path / "turn")
    await server.start()
    try:
        yield server
    finally:
        server.stop()


async def _turn_of_welcome(server: ServerProcess) -> tuple[str, str]:
    room = await server.create_room()
    client, welcome = await RawClient.join(server.ws_url, room["token"])
    await client.close()
    turn = [s for s in welcome.ice if s.username]
    assert len(turn) == 1 and turn[0].credential is not None
    return turn[0].username or "", turn[0].credential


async def test_welcome_credentials_allocate_and_tampered_ones_do_not(turn: TurnServer, server_factory) -> None:  # type: ignore[no-untyped-def]
    server = await server_factory("--turn-url", turn.url, "--turn-secret", turn.secret, "--turn-ttl", "600")
    username, credential = await _turn_of_welcome(server)
    assert await turn.allocates(username, credential), turn.last_client_output
    assert not await turn.allocates(username, credential[:-2] + ("AA" if credential[-2:] != "AA" else "BB"))
    expiry, member = username.split(":", 1)
    assert not await turn.allocates(f"{expiry}:m_someone_else", credential)  # the HMAC binds the member
    assert not await turn.allocates(f"{int(expiry) + 3600}:{member}", credential)  # and the expiry


async def test_expired_credentials_are_refused(turn: TurnServer, server_factory) -> None:  # type: ignore[no-untyped-def]
    server = await server_factory("--turn-url", turn.url, "--turn-secret", turn.secret, "--turn-ttl=-60")
    username, credential = await _turn_of_welcome(server)
    assert int(username.split(":")[0]) < __import__("time").time()
    assert not await turn.allocates(username, credential), turn.last_client_output
    # the same member with a valid expiry is fine: only the expiry made the difference
    fresh = turn_credentials(turn.secret, username.split(":", 1)[1], 600)
    assert await turn.allocates(*fresh), turn.last_client_output
