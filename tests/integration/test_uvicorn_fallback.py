"""A uvicorn whose internals differ from what the direct-send path needs: the server starts
anyway, on uvicorn's own WebSocket protocol (ASGI sends), says so once, and rooms work.

The difference is simulated in the server process itself: before ``cosession serve`` runs,
the list of internals the start-up check requires gets one this uvicorn does not have (as
if the installed release had renamed an attribute the direct channel writes).
"""

from __future__ import annotations

import sys
from pathlib import Path

from protocol.messages import Chat, Event
from tests.support.raw import RawClient
from tests.support.server import ServerProcess

SIMULATE = (
    "import sys\n"
    "from cosession.gateway import uvicorn_compat as c\n"
    "c.REQUIRED_ATTRIBUTES = (*c.REQUIRED_ATTRIBUTES, 'outgoing_frames')\n"
    "from cosession.cli import main\n"
    "sys.exit(main())\n"
)


class DifferentUvicornServer(ServerProcess):
    def command(self) -> list[str]:
        cmd = super().command()
        assert cmd[:3] == [sys.executable, "-m", "cosession"]
        return [sys.executable, "-c", SIMULATE, *cmd[3:]]


async def test_chat_round_trip_on_the_fallback_path_with_one_warning(tmp_path: Path) -> None:
    server = DifferentUvicornServer(tmp_path)
    await server.start()
    try:
        room = await server.create_room()
        friend = await server.accept(room["invite"]["code"], "Bea")
        owner, _ = await RawClient.join(server.ws_url, room["token"])
        bea, _ = await RawClient.join(server.ws_url, friend["token"])
        await owner.op(Chat(text="hello over ASGI send"))
        seen = await bea.expect(Event, timeout=10)
        while not (isinstance(seen.op, Chat) and seen.op.text == "hello over ASGI send"):
            seen = await bea.expect(Event, timeout=10)
        await owner.close()
        await bea.close()
    finally:
        await server.stop()
    log = server.log_path.read_text()
    assert log.count("direct send disabled") == 1, log
    assert "outgoing_frames" in log, log
