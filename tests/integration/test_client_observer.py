"""The client's public instrumentation hook (``observer=``) against a real server: what it
is told about connections, frames and resume outcomes, and in which order."""

from __future__ import annotations

import asyncio

from cosession_client import ClientSettings, ConnectionClosedFinal, Resynced, RoomClient
from protocol.messages import Ack, ClientMessage, Event, Hello, Op, ServerMessage, Welcome
from tests.support.server import ServerProcess

WAIT = 10.0


class Recorder:
    """Implements ``ClientObserver`` structurally (no base class) and logs each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def connecting(self) -> None:
        self.calls.append(("connecting",))

    def opened(self) -> None:
        self.calls.append(("opened",))

    def connect_failed(self, code: int, reason: str, error: str | None) -> None:
        self.calls.append(("connect_failed", code, error))

    def frame_out(self, msg: ClientMessage) -> None:
        self.calls.append(("out", msg))

    def frame_in(self, msg: ServerMessage) -> None:
        self.calls.append(("in", msg))

    def joined(self, resynced: Resynced) -> None:
        self.calls.append(("joined", resynced.recovered))

    def disconnected(self, code: int, reason: str, *, retrying: bool, by_client: bool) -> None:
        self.calls.append(("disconnected", code, retrying, by_client))

    def dropping(self) -> None:
        self.calls.append(("dropping",))

    def stopped(self, why: ConnectionClosedFinal, *, by_client: bool) -> None:
        self.calls.append(("stopped", why.code, by_client))

    def lifecycle(self) -> list[tuple[object, ...]]:
        return [c for c in self.calls if c[0] not in ("in", "out")]


async def test_observer_sees_frames_lifecycle_and_resume_outcomes(server: ServerProcess) -> None:
    created = await server.create_room(name="Weekend", owner_name="Olga")
    seen = Recorder()
    settings = ClientSettings(backoff=(0.02, 0.2), format="json")
    async with RoomClient.connect(created["token"], server=server.http_url, settings=settings, observer=seen) as owner:
        seq = await owner.chat("hello")
        owner.drop_connection()
        async with asyncio.timeout(WAIT):
            while seen.lifecycle()[-1] != ("joined", True):
                await asyncio.sleep(0.01)
        assert await owner.chat("again") == seq + 1
    assert seen.lifecycle() == [
        ("connecting",),
        ("opened",),
        ("joined", False),  # a fresh join: a snapshot
        ("dropping",),
        ("disconnected", 1006, True, True),
        ("connecting",),
        ("opened",),
        ("joined", True),  # resumed: recovered
        ("disconnected", 1000, False, True),  # close()
        ("stopped", 1000, True),
    ]
    out = [c[1] for c in seen.calls if c[0] == "out"]
    inbound = [c[1] for c in seen.calls if c[0] == "in"]
    hellos = [m for m in out if isinstance(m, Hello)]
    assert hellos[0].resume is None and hellos[1].resume is not None and hellos[1].resume.seq == seq
    assert [m.ref for m in out if isinstance(m, Op)] == [m.ref for m in inbound if isinstance(m, Ack)]
    assert sum(isinstance(m, Welcome) for m in inbound) == 2
    assert [m.seq for m in inbound if isinstance(m, Event)][-2:] == [seq, seq + 1]


async def test_observer_hears_of_a_refused_join(server: ServerProcess) -> None:
    created = await server.create_room()
    seen = Recorder()
    try:
        await RoomClient.connect(created["token"] + "x", server=server.http_url, observer=seen)
    except ConnectionClosedFinal as exc:
        assert exc.error == "unauthorized"
    else:
        raise AssertionError("a forged token was accepted")
    assert seen.lifecycle() == [
        ("connecting",),
        ("opened",),
        ("connect_failed", 4001, "unauthorized"),
        ("stopped", 4001, False),
    ]
