"""Relay mode (SPEC section 14.6): three aiortc participants, each holding one peer
connection to the server, receive the other two's audio through the server's relay; a
participant who leaves stops its tracks for the others and the call goes on; signals to
the relay from outside the call or oversized are refused."""

from __future__ import annotations

from cosession_client.call import RELAY, Call
from cosession_client.client import RoomClient
from protocol.errors import ErrorCode
from protocol.messages import CallJoin, Error, Signal
from tests.support.calls import roster
from tests.support.loopback_ice import loopback_only
from tests.support.raw import RawClient
from tests.support.server import ServerProcess

FRAMES = 25  # half a second of 20 ms audio frames
RELAY_ARGS = ("--call-mode", "relay", "--call-relay-address", "127.0.0.1")


async def _members(server: ServerProcess, names: list[str]) -> list[RoomClient]:
    room = await server.create_room()
    tokens = [room["token"]] + [(await server.accept(room["invite"]["code"], n))["token"] for n in names]
    return [await RoomClient.connect(t, server=server.http_url) for t in tokens]


async def test_three_participants_through_the_relay(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = await server_factory(*RELAY_ARGS)
    clients = await _members(server, ["Bo", "Cy"])
    with loopback_only():
        calls = [Call(c, ice_servers=[]) for c in clients]
        try:
            for call in calls:
                await call.join()
            ids = [c.member for c in clients]
            for call in calls:
                await call.wait_for(lambda call=call: call.mode == "relay" and sorted(call.members) == sorted(ids))
            for me, call in zip(ids, calls, strict=True):
                for other in ids:
                    if other != me:
                        assert await call.wait_frames(other, "audio", FRAMES, timeout=30) >= FRAMES
                assert list(call.peers) == [RELAY]  # one peer connection: to the server
                assert call.frames[me]["audio"] == 0  # nobody hears themselves
            # Cy leaves: its tracks stop for the others, who keep hearing each other
            await calls[2].leave()
            ana, bob = calls[0], calls[1]
            for call in (ana, bob):
                await call.wait_for(lambda call=call: call.members == ids[:2])
            heard = {id(call): call.frames[other]["audio"] for call, other in ((ana, ids[1]), (bob, ids[0]))}
            assert await ana.wait_frames(ids[1], "audio", heard[id(ana)] + FRAMES, timeout=30)
            assert await bob.wait_frames(ids[0], "audio", heard[id(bob)] + FRAMES, timeout=30)
            cy_heard = ana.frames[ids[2]]["audio"]
            await ana.wait_frames(ids[1], "audio", ana.frames[ids[1]]["audio"] + FRAMES)
            assert ana.frames[ids[2]]["audio"] == cy_heard  # nothing more from Cy
            assert ana.errors == [] and bob.errors == []
        finally:
            for call in calls:
                await call.leave()
            for client in clients:
                await client.close()


async def test_bad_signals_to_the_relay(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = await server_factory(*RELAY_ARGS)
    room = await server.create_room()
    ana, _ = await RawClient.join(server.ws_url, room["token"])
    # not in the call: not_found
    await ana.send(Signal(to="", kind="bye"))
    err = await ana.expect(Error)
    assert err.code == ErrorCode.NOT_FOUND and err.ref is None
    await ana.send(CallJoin(audio=True, video=False))
    info = await roster(ana, [room["member"]])
    assert info.mode == "relay"
    # oversized SDP to the relay: invalid_field, the connection stays
    await ana.send_raw(ana.codec.encode({"t": "signal", "to": "", "kind": "answer", "sdp": "v" * 16_385}))
    assert (await ana.expect(Error)).code == ErrorCode.INVALID_FIELD
    # a garbage answer ends only this participant's relay connection; the server keeps serving
    await ana.send(Signal(to="", kind="answer", sdp="not sdp"))
    await ana.send(CallJoin(audio=True, video=False))
    assert (await roster(ana, [room["member"]])).mode == "relay"
