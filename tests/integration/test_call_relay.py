"""Relay mode (SPEC section 14.6): three aiortc participants, each holding one peer
connection to the server, receive the other two's audio (and video) through the server's relay; a
participant who leaves stops its tracks for the others and the call goes on; a roster change
renegotiates each participant's existing connection in place; signals to the relay from
outside the call or oversized are refused."""

from __future__ import annotations

import os
from pathlib import Path

from cosession_client.call import RELAY, Call
from cosession_client.call_media import PatternTrack, ToneTrack
from cosession_client.client import RoomClient
from protocol.errors import ErrorCode
from protocol.messages import CallJoin, Error, Signal, SignalRelay
from tests.support.calls import roster
from tests.support.loopback_ice import loopback_only
from tests.support.raw import RawClient
from tests.support.server import ServerProcess

FRAMES = 25  # half a second of 20 ms audio frames
VIDEO_FRAMES = 10  # a third of a second of 30 fps video
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


async def test_video_through_the_relay(server_factory) -> None:  # type: ignore[no-untyped-def]
    """Three participants with camera each receive video frames from both others through
    the relay (every participant's video is on the 2nd+ video m-line of someone's connection),
    and still after a fourth joins in place: the newcomer gets the three, they get it."""
    server: ServerProcess = await server_factory(*RELAY_ARGS)
    clients = await _members(server, ["Bo", "Cy", "Dee"])
    ids = [c.member for c in clients]
    with loopback_only():  # small frames: four encoders per participant on a shared machine
        calls = [Call(c, video=True, tracks=[ToneTrack(), PatternTrack(96, 64)], ice_servers=[]) for c in clients]
        first, dee = calls[:3], calls[3]
        try:
            for call in first:
                await call.join()
            for me, call in zip(ids, first, strict=False):
                for other in ids[:3]:
                    if other != me:
                        assert await call.wait_frames(other, "video", VIDEO_FRAMES, timeout=30) >= VIDEO_FRAMES
                assert call.frames[me]["video"] == 0
            pcs = [call.peers[RELAY].pc for call in first]
            seen = [{o: call.frames[o]["video"] for o in ids[:3]} for call in first]
            await dee.join()  # the fourth, in place on the others' connections
            for other in ids[:3]:
                assert await dee.wait_frames(other, "video", VIDEO_FRAMES, timeout=30) >= VIDEO_FRAMES
            for i, (me, call) in enumerate(zip(ids, first, strict=False)):
                assert await call.wait_frames(ids[3], "video", VIDEO_FRAMES, timeout=30) >= VIDEO_FRAMES
                assert call.peers[RELAY].pc is pcs[i] and call.relay_connections == 1
                for other in ids[:3]:
                    if other != me:  # the video of the first three keeps coming
                        goal = seen[i][other] + VIDEO_FRAMES
                        assert await call.wait_frames(other, "video", goal, timeout=30) >= goal
            assert all(call.errors == [] for call in calls)
        finally:
            for call in calls:
                await call.leave()
            for client in clients:
                await client.close()


def _directions(call: Call) -> dict[str, set[str]]:
    """The directions of the relay's current offer on ``call``'s relay connection, by the
    member (msid stream id) whose tracks each m-line carries."""
    found: dict[str, set[str]] = {}
    description = call.peers[RELAY].pc.remoteDescription
    for section in description.sdp.split("m=")[1:] if description is not None else []:
        lines = section.splitlines()
        stream = next((x.removeprefix("a=msid:").split()[0] for x in lines if x.startswith("a=msid:")), None)
        direction = next((x[2:] for x in lines if x[2:] in ("sendonly", "recvonly", "sendrecv", "inactive")), "")
        if stream is not None:
            found.setdefault(stream, set()).add(direction)
    return found


async def test_roster_changes_renegotiate_in_place(server_factory) -> None:  # type: ignore[no-untyped-def]
    """A fourth participant joins a relay call of three: the three keep their one relay
    connection (same object, same DTLS fingerprint, no ICE state change), their tracks of each
    other never end and keep counting, and the newcomer gets all three. Then one leaves: the
    others keep their connection, its m-lines go inactive and its tracks stop."""
    server: ServerProcess = await server_factory(*RELAY_ARGS)
    clients = await _members(server, ["Bo", "Cy", "Dee"])
    ids = [c.member for c in clients]
    with loopback_only():
        calls = [Call(c, ice_servers=[]) for c in clients]
        first, dee = calls[:3], calls[3]
        try:
            for call in first:
                await call.join()
            for me, call in zip(ids, first, strict=False):
                for other in ids[:3]:
                    if other != me:
                        assert await call.wait_frames(other, "audio", FRAMES, timeout=30) >= FRAMES
            pcs = [call.peers[RELAY].pc for call in first]
            prints = [call.peers[RELAY].fingerprints for call in first]
            tracks = [{m: list(tasks) for m, tasks in call.peers[RELAY].by_member.items()} for call in first]
            ice_changes: list[tuple[str, str]] = []  # (member, new ICE state) on those connections
            for member, pc in zip(ids, pcs, strict=False):
                pc.on(
                    "iceconnectionstatechange", lambda m=member, pc=pc: ice_changes.append((m, pc.iceConnectionState))
                )
            heard = [{o: call.frames[o]["audio"] for o in ids[:3]} for call in first]

            await dee.join()  # the fourth
            for other in ids[:3]:
                assert await dee.wait_frames(other, "audio", FRAMES, timeout=30) >= FRAMES
            for i, (me, call) in enumerate(zip(ids, first, strict=False)):
                assert await call.wait_frames(ids[3], "audio", FRAMES, timeout=30) >= FRAMES
                peer = call.peers[RELAY]
                assert peer.pc is pcs[i] and peer.fingerprints == prints[i] and call.relay_connections == 1
                for other in ids[:3]:
                    if other != me:  # the same tracks, never ended, still counting
                        assert peer.by_member[other] == tracks[i][other]
                        assert not any(task.done() for task in peer.by_member[other])
                        assert (other, "audio") not in call.ended
                        assert call.frames[other]["audio"] > heard[i][other]
                assert call.errors == []
            assert ice_changes == []  # no new ICE set-up anywhere
            assert list(dee.peers) == [RELAY] and dee.relay_connections == 1

            # Cy leaves: the others keep their connection; Cy's m-lines go inactive, tracks stop
            await calls[2].leave()
            rest, rest_ids = [calls[0], calls[1], dee], [ids[0], ids[1], ids[3]]
            kept = [call.peers[RELAY].pc for call in rest]
            for call in rest:
                await call.wait_for(lambda call=call: call.members == rest_ids)
                await call.wait_for(lambda call=call: _directions(call).get(ids[2]) == {"inactive"}, timeout=30)
            for i, (me, call) in enumerate(zip(rest_ids, rest, strict=True)):
                assert call.peers[RELAY].pc is kept[i] and call.relay_connections == 1
                assert ids[2] not in call.peers[RELAY].by_member
                others = [o for o in rest_ids if o != me]
                assert all(_directions(call)[o] == {"sendonly"} for o in others)
                cut = call.frames[ids[2]]["audio"]
                for other in others:
                    now = call.frames[other]["audio"]
                    assert await call.wait_frames(other, "audio", now + FRAMES, timeout=30) >= now + FRAMES
                assert call.frames[ids[2]]["audio"] == cut  # nothing more from Cy
                assert call.errors == []
            assert ice_changes == [(ids[2], "closed")]  # only Cy's, as Cy left
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
    await ana.send_raw(ana.codec.encode({"t": "signal", "to": "", "kind": "answer", "sdp": "v" * 49_153}))
    assert (await ana.expect(Error)).code == ErrorCode.INVALID_FIELD
    # a garbage answer ends only this participant's relay connection; the server keeps serving
    await ana.send(Signal(to="", kind="answer", sdp="not sdp"))
    await ana.send(CallJoin(audio=True, video=False))
    assert (await roster(ana, [room["member"]])).mode == "relay"


async def test_without_aiortc_the_server_runs_and_the_relay_is_not_found(tmp_path: Path) -> None:
    hidden = tmp_path / "hide"
    (hidden / "aiortc").mkdir(parents=True)
    (hidden / "aiortc" / "__init__.py").write_text('raise ImportError("aiortc hidden by the test")\n')
    pythonpath = os.pathsep.join(p for p in (str(hidden), os.environ.get("PYTHONPATH", "")) if p)
    (tmp_path / "srv").mkdir()
    server = ServerProcess(tmp_path / "srv", *RELAY_ARGS, env={"PYTHONPATH": pythonpath})
    await server.start()
    try:
        room = await server.create_room()
        bo = await server.accept(room["invite"]["code"], "Bo")
        ana, _ = await RawClient.join(server.ws_url, room["token"])
        bob, _ = await RawClient.join(server.ws_url, bo["token"])
        for client in (ana, bob):
            await client.send(CallJoin(audio=True, video=False))
        assert (await roster(ana, [room["member"], bo["member"]])).mode == "relay"
        for client in (ana, bob):
            await client.send(Signal(to="", kind="bye"))
            err = await client.expect(Error)
            assert err.code == ErrorCode.NOT_FOUND and err.ref is None
        assert server.log_tail(200).count("call relay unavailable") == 1  # logged once
    finally:
        await server.stop()


async def test_mesh_switches_to_relay_without_ending_the_call(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = await server_factory("--call-mesh-max", "2", "--call-relay-address", "127.0.0.1")
    clients = await _members(server, ["Bo", "Cy"])
    ids = [c.member for c in clients]
    with loopback_only():
        calls = [Call(c, ice_servers=[]) for c in clients]
        try:
            ana, bob, cy = calls
            await ana.join()
            await ana.wait_for(lambda: ana.members == ids[:1])
            await bob.join()
            assert await ana.wait_frames(ids[1], "audio", FRAMES) >= FRAMES  # mesh
            assert ana.mode == "mesh" and RELAY not in ana.peers
            await cy.join()  # past the mesh limit: everyone moves to the relay
            for call in calls:
                await call.wait_for(lambda call=call: call.mode == "relay" and list(call.peers) == [RELAY])
            for me, call in zip(ids, calls, strict=True):
                for other in ids:
                    if other != me:
                        now = call.frames[other]["audio"]
                        assert await call.wait_frames(other, "audio", now + FRAMES, timeout=30) >= now + FRAMES
            assert all(call.errors == [] for call in calls)
        finally:
            for call in calls:
                await call.leave()
            for client in clients:
                await client.close()


async def test_a_kicked_participant_is_cut_off_and_the_call_goes_on(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = await server_factory(*RELAY_ARGS)
    clients = await _members(server, ["Bo", "Cy"])
    ids = [c.member for c in clients]
    with loopback_only():
        calls = [Call(c, ice_servers=[]) for c in clients]
        ana, bob = calls[:2]
        try:
            for call in calls:
                await call.join()
            assert await ana.wait_frames(ids[2], "audio", FRAMES, timeout=30) >= FRAMES
            await clients[0].kick(ids[2])
            for call in (ana, bob):
                await call.wait_for(lambda call=call: call.members == ids[:2])
            now = ana.frames[ids[1]]["audio"]
            assert await ana.wait_frames(ids[1], "audio", now + FRAMES, timeout=30) >= now + FRAMES
            cut = ana.frames[ids[2]]["audio"]
            now = ana.frames[ids[1]]["audio"]
            await ana.wait_frames(ids[1], "audio", now + FRAMES)
            assert ana.frames[ids[2]]["audio"] == cut  # nothing from the kicked member any more
        finally:
            for call in calls:
                await call.close()
            for client in clients:
                await client.close()


async def test_the_relay_forwards_at_most_call_relay_max(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = await server_factory(*RELAY_ARGS, "--call-relay-max", "2")
    room = await server.create_room()
    people = [await server.accept(room["invite"]["code"], n) for n in ("Bo", "Cy")]
    ana, _ = await RawClient.join(server.ws_url, room["token"])
    bob, _ = await RawClient.join(server.ws_url, people[0]["token"])
    cyc, _ = await RawClient.join(server.ws_url, people[1]["token"])
    for client in (ana, bob, cyc):
        await client.send(CallJoin(audio=True, video=False))
    await roster(cyc, [room["member"], people[0]["member"], people[1]["member"]])
    for client in (ana, bob):  # the first two get an offer (a change while one awaits its answer waits)
        offer = await client.expect(SignalRelay)
        assert offer.from_ == "" and offer.kind == "offer" and offer.sdp
    await cyc.send(Signal(to="", kind="bye"))  # the third is beyond the bound
    err = await cyc.expect(Error)
    assert err.code == ErrorCode.NOT_FOUND and err.ref is None
    assert not [m for m in cyc.seen if isinstance(m, SignalRelay)]
