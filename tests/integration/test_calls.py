"""Call signaling through a real server (SPEC section 14), with raw WebSocket clients:
joining and leaving, presence call state, the `call` roster, relaying `signal` only
between call connections, call.start / call.end in the log, and every refusal."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import time

from websockets.exceptions import ConnectionClosed

from protocol.errors import CloseCode, ErrorCode
from protocol.messages import (
    Ack,
    CallEnd,
    CallInfo,
    CallJoin,
    CallLeave,
    CallStart,
    CallStateChange,
    Error,
    MemberKick,
    Ping,
    Pong,
    Resume,
    Signal,
    SignalRelay,
)
from tests.support.calls import SDP, call_event, invite, presence_call, roster
from tests.support.raw import RawClient
from tests.support.server import ServerProcess


async def _error(client: RawClient, code: ErrorCode) -> Error:
    err = await client.expect(Error)
    assert err.code == code, err
    assert err.ref is None
    return err


async def test_join_signal_state_and_leave(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = await server_factory("--presence-grace", "0.5")
    room = await server.create_room()
    bo = await server.accept(room["invite"]["code"], "Bo")
    cy = await server.accept(room["invite"]["code"], "Cy")
    ana_id, bo_id, cy_id = room["member"], bo["member"], cy["member"]
    ana, _ = await RawClient.join(server.ws_url, room["token"])
    bob, _ = await RawClient.join(server.ws_url, bo["token"])
    cyc, _ = await RawClient.join(server.ws_url, cy["token"])

    await ana.send(CallJoin(audio=True, video=True))
    assert await roster(ana, [ana_id]) == CallInfo(mode="mesh", members=[ana_id])
    update = await presence_call(cyc, ana_id, True)  # presence shows the call to the whole room
    assert update.member.call is not None and update.member.call.video and update.member.call.camera
    start = await call_event(cyc, "call.start")
    assert start.by == "" and start.op == CallStart(member=ana_id, video=True)

    await bob.send(CallJoin(audio=True, video=False))
    await roster(bob, [ana_id, bo_id])
    await roster(ana, [ana_id, bo_id])

    # offer, candidates and answer reach exactly the addressee, in order
    await ana.send(Signal(to=bo_id, kind="offer", sdp=SDP))
    for i in range(5):
        await ana.send(Signal(to=bo_id, kind="candidate", candidate=f"candidate:{i}", mid="0", mline=0))
    got = await bob.expect(SignalRelay)
    assert got == SignalRelay(from_=ana_id, kind="offer", sdp=SDP)
    for i in range(5):
        assert (await bob.expect(SignalRelay)).candidate == f"candidate:{i}"
    await bob.send(Signal(to=ana_id, kind="answer", sdp=SDP))
    assert (await ana.expect(SignalRelay)) == SignalRelay(from_=bo_id, kind="answer", sdp=SDP)

    # refusals: not in the call, addressed outside the call / room, the relay, oneself
    await cyc.send(Signal(to=ana_id, kind="bye"))
    await _error(cyc, ErrorCode.NOT_FOUND)
    await ana.send(Signal(to=cy_id, kind="bye"))
    await _error(ana, ErrorCode.NOT_FOUND)
    await ana.send(Signal(to="m_nobody", kind="bye"))
    await _error(ana, ErrorCode.NOT_FOUND)
    await ana.send(Signal(to="", kind="offer", sdp=SDP))
    await _error(ana, ErrorCode.NOT_FOUND)
    await ana.send(Signal(to=ana_id, kind="bye"))
    await _error(ana, ErrorCode.NOT_FOUND)
    await cyc.send(CallStateChange(muted=True))
    await _error(cyc, ErrorCode.NOT_FOUND)
    # another tab of a participant is not its call connection
    tab, _ = await RawClient.join(server.ws_url, room["token"])
    await tab.send(Signal(to=bo_id, kind="bye"))
    await _error(tab, ErrorCode.NOT_FOUND)
    await tab.send(Ping(nonce=1))
    await tab.expect(Pong)
    assert not [m for m in bob.seen if isinstance(m, SignalRelay) and m.kind == "bye"]

    # call.state changes presence
    await bob.send(CallStateChange(muted=True, speaking=True))
    update = await presence_call(cyc, bo_id, True)
    while not update.member.call or not update.member.call.muted:  # skip earlier updates
        update = await presence_call(cyc, bo_id, True)
    assert update.member.call.speaking and not update.member.call.video

    # leaving: the roster shrinks, the last one out ends the call in the log
    await bob.send(CallLeave())
    await roster(ana, [ana_id])
    await presence_call(cyc, bo_id, False)
    await ana.send(CallLeave())
    end = await call_event(cyc, "call.end")
    assert isinstance(end.op, CallEnd) and end.op.duration_ms >= 0 and end.by == ""
    for client in (ana, bob, cyc, tab):
        await client.close()


async def test_call_join_moves_to_the_latest_connection(server: ServerProcess) -> None:
    room = await server.create_room()
    bo = await server.accept(room["invite"]["code"], "Bo")
    ana1, _ = await RawClient.join(server.ws_url, room["token"])
    ana2, _ = await RawClient.join(server.ws_url, room["token"])
    bob, _ = await RawClient.join(server.ws_url, bo["token"])
    await ana1.send(CallJoin(audio=True, video=False))
    await roster(ana1, [room["member"]])
    await bob.send(CallJoin(audio=True, video=False))
    await roster(bob, [room["member"], bo["member"]])
    await ana2.send(CallJoin(audio=True, video=False))  # the second tab takes the call over
    await roster(ana2, [room["member"], bo["member"]])
    await bob.send(Signal(to=room["member"], kind="bye"))
    assert (await ana2.expect(SignalRelay)).from_ == bo["member"]
    await ana1.send(Signal(to=bo["member"], kind="bye"))
    await _error(ana1, ErrorCode.NOT_FOUND)
    assert not [m for m in ana1.seen if isinstance(m, SignalRelay)]


async def test_viewer_and_kicked_member_are_refused(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = await server_factory("--presence-grace", "0.5")
    room = await server.create_room()
    bo = await server.accept(room["invite"]["code"], "Bo")
    vic = await invite(server, room, "viewer", "Vic")
    ana, _ = await RawClient.join(server.ws_url, room["token"])
    bob, _ = await RawClient.join(server.ws_url, bo["token"])
    viewer, _ = await RawClient.join(server.ws_url, vic["token"])
    await viewer.send(CallJoin(audio=True, video=False))
    await _error(viewer, ErrorCode.FORBIDDEN)
    await viewer.send(Signal(to=room["member"], kind="bye"))
    await _error(viewer, ErrorCode.FORBIDDEN)
    await viewer.send(CallStateChange(muted=True))
    await _error(viewer, ErrorCode.FORBIDDEN)

    await ana.send(CallJoin(audio=True, video=False))
    await bob.send(CallJoin(audio=True, video=False))
    await roster(ana, [room["member"], bo["member"]])
    ref = await ana.op(MemberKick(member=bo["member"]))
    await ana.expect(Ack, ref=ref)
    # the kicked member is out of the call at once (no grace), its frames go nowhere
    with contextlib.suppress(ConnectionClosed):
        await bob.send(Signal(to=room["member"], kind="offer", sdp=SDP))
    assert await bob.closed_with() == CloseCode.FORBIDDEN
    assert any(isinstance(m, Error) and m.code == ErrorCode.KICKED for m in bob.seen)
    if CallInfo(mode="mesh", members=[room["member"]]) not in ana.seen:  # before the ack, or after
        await roster(ana, [room["member"]])
    assert not [m for m in ana.seen if isinstance(m, SignalRelay)]
    await ana.send(Signal(to=bo["member"], kind="bye"))
    await _error(ana, ErrorCode.NOT_FOUND)


async def test_oversize_sdp_and_floods(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = await server_factory(
        "--ops-per-second", "1", "--ops-burst", "3", "--signals-per-second", "1", "--signals-burst", "20"
    )
    room = await server.create_room()
    bo = await server.accept(room["invite"]["code"], "Bo")
    ana, _ = await RawClient.join(server.ws_url, room["token"])
    bob, _ = await RawClient.join(server.ws_url, bo["token"])
    await ana.send(CallJoin(audio=True, video=False))
    await bob.send(CallJoin(audio=True, video=False))
    await roster(ana, [room["member"], bo["member"]])
    # over the SDP cap: invalid_field, the connection stays
    await ana.send_raw(ana.codec.encode({"t": "signal", "to": bo["member"], "kind": "offer", "sdp": "v" * 49_153}))
    await _error(ana, ErrorCode.INVALID_FIELD)
    # signals have their own bucket: 15 pass although the op burst is 3
    for i in range(15):
        await ana.send(Signal(to=bo["member"], kind="candidate", candidate=f"c{i}"))
    for i in range(15):
        assert (await bob.expect(SignalRelay)).candidate == f"c{i}"
    # past the signal burst: rate_limited; 3 x burst refusals: closed 4029
    for i in range(80):
        await ana.send(Signal(to=bo["member"], kind="candidate", candidate=f"x{i}"))
    assert (await ana.expect(Error)).code == ErrorCode.RATE_LIMITED
    assert await ana.closed_with() == CloseCode.RATE_LIMITED
    # the server keeps serving the others
    await bob.send(Ping(nonce=7))
    assert (await bob.expect(Pong)).nonce == 7
    again, _ = await RawClient.join(server.ws_url, room["token"])
    await again.send(CallJoin(audio=True, video=False))
    await roster(again, [room["member"], bo["member"]])


async def test_dropping_out_leaves_the_call_after_the_grace(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = await server_factory("--presence-grace", "0.6")
    room = await server.create_room()
    bo = await server.accept(room["invite"]["code"], "Bo")
    cy = await server.accept(room["invite"]["code"], "Cy")
    ana, _ = await RawClient.join(server.ws_url, room["token"])
    bob, welcome = await RawClient.join(server.ws_url, bo["token"])
    await ana.send(CallJoin(audio=True, video=False))
    await bob.send(CallJoin(audio=True, video=True))
    await roster(ana, [room["member"], bo["member"]])
    # back within the grace: still in the call, a new call.join keeps its place
    bob.ws.transport.abort()
    back, w2 = await RawClient.join(server.ws_url, bo["token"], resume=Resume(epoch=welcome.epoch, seq=welcome.seq))
    assert any(p.member == bo["member"] and p.call is not None for p in w2.presence)
    await back.send(CallJoin(audio=True, video=True))
    assert await roster(back, [room["member"], bo["member"]])
    await ana.send(Signal(to=bo["member"], kind="bye"))
    assert (await back.expect(SignalRelay)).from_ == room["member"]
    # gone for good: out of the call once the grace is over
    t0 = time.monotonic()
    back.ws.transport.abort()
    await roster(ana, [room["member"]], timeout=10)
    assert time.monotonic() - t0 >= 0.5
    # the last participant drops out: after its grace, call.end is in the log
    watcher, w3 = await RawClient.join(server.ws_url, cy["token"])
    assert w3.snapshot is not None and w3.snapshot.call is not None
    ana.ws.transport.abort()
    end = await call_event(watcher, "call.end", timeout=10)
    assert isinstance(end.op, CallEnd)


async def test_mode_switches_to_relay_past_the_mesh_limit(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = await server_factory("--call-mesh-max", "2")
    room = await server.create_room()
    people = [await server.accept(room["invite"]["code"], n) for n in ("Bo", "Cy")]
    ana, _ = await RawClient.join(server.ws_url, room["token"])
    others = [(await RawClient.join(server.ws_url, p["token"]))[0] for p in people]
    await ana.send(CallJoin(audio=True, video=True))
    await others[0].send(CallJoin(audio=True, video=True))
    assert (await roster(ana, [room["member"], people[0]["member"]])).mode == "mesh"
    await others[1].send(CallJoin(audio=True, video=True))
    three = [room["member"], people[0]["member"], people[1]["member"]]
    assert (await roster(ana, three)).mode == "relay"
    await others[1].send(CallLeave())
    assert (await roster(ana, three[:2])).mode == "mesh"


def _expected_credential(secret: str, username: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()


async def test_welcome_carries_ice_servers_with_turn_rest_credentials(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = await server_factory(
        "--stun-url",
        "stun:127.0.0.1:3478",
        "--turn-url",
        "turn:127.0.0.1:3478?transport=udp",
        "--turn-url",
        "turn:127.0.0.1:3478?transport=tcp",
        "--turn-secret",
        "s3cret",
        "--turn-ttl",
        "600",
    )
    room = await server.create_room()
    before = int(time.time())
    client, welcome = await RawClient.join(server.ws_url, room["token"])
    stun, turn = welcome.ice
    assert stun.urls == ["stun:127.0.0.1:3478"] and stun.username is None
    assert turn.urls == ["turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"]
    assert turn.username is not None and turn.credential is not None
    expiry, member = turn.username.split(":", 1)
    assert member == room["member"] and before + 600 <= int(expiry) <= int(time.time()) + 601
    assert turn.credential == _expected_credential("s3cret", turn.username)
    await client.close()
    # a resumed welcome issues them again
    _, resumed = await RawClient.join(server.ws_url, room["token"], resume=Resume(epoch=welcome.epoch, seq=welcome.seq))
    assert resumed.recovered and len(resumed.ice) == 2 and resumed.ice[1].username


async def test_no_ice_servers_unless_configured(server: ServerProcess) -> None:
    room = await server.create_room()
    _, welcome = await RawClient.join(server.ws_url, room["token"])
    assert welcome.ice == []
