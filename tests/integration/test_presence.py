"""Ephemeral signals: presence (with tabs and grace), focus, typing, follow."""

from __future__ import annotations

from protocol.errors import ErrorCode
from protocol.messages import (
    Error,
    Focus,
    FocusSignal,
    Follow,
    FollowSignal,
    PresenceUpdate,
    Product,
    Typing,
    TypingSignal,
)
from tests.support.raw import RawClient
from tests.support.server import ServerProcess

BAG = Product(id="bag", name="Bag", price=2500, currency="EUR")


async def test_presence_focus_and_late_joiner(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = await server_factory("--presence-grace", "0.5")
    room = await server.create_room()
    bea = await server.accept(room["invite"]["code"], "Bea")
    cy = await server.accept(room["invite"]["code"], "Cy")
    owner, welcome = await RawClient.join(server.ws_url, room["token"])
    assert welcome.presence == []
    friend, w2 = await RawClient.join(server.ws_url, bea["token"])
    assert [p.member for p in w2.presence] == [room["member"]]
    own = await owner.expect(PresenceUpdate, kind="join")  # everyone gets every presence change, own included
    assert own.member.member == room["member"]
    joined = await owner.expect(PresenceUpdate, kind="join")
    assert joined.member.member == bea["member"] and joined.member.name == "Bea"
    # focus goes to everyone and is shown to late joiners
    await friend.send(Focus(product=BAG))
    signal = await owner.expect(FocusSignal)
    assert signal.member == bea["member"] and signal.product == BAG
    await friend.expect(FocusSignal)
    late, w3 = await RawClient.join(server.ws_url, cy["token"])
    focus = {p.member: p.focus for p in w3.presence}
    assert focus[bea["member"]] == BAG
    # typing and follow
    await friend.send(Typing(on=True))
    assert (await owner.expect(TypingSignal)).on is True
    await late.send(Follow(member=bea["member"]))
    follow = await owner.expect(FollowSignal)
    assert follow.member == cy["member"] and follow.target == bea["member"]
    await late.send(Follow(member="m_nobody"))
    assert (await late.expect(Error)).code == ErrorCode.NOT_FOUND
    # a second tab is one member with two connections
    tab2, _ = await RawClient.join(server.ws_url, bea["token"])
    update = await owner.expect(PresenceUpdate, kind="update")
    assert update.member.connections == 2
    await tab2.close()
    assert (await owner.expect(PresenceUpdate, kind="update")).member.connections == 1
    # leaving: "leave" only after the grace period, and not at all if back within it
    friend.ws.transport.abort()
    leave = await owner.expect(PresenceUpdate, kind="leave", timeout=5)
    assert leave.member.member == bea["member"]
    await late.close()
    assert (await owner.expect(PresenceUpdate, kind="leave", timeout=5)).member.member == cy["member"]
    back, _ = await RawClient.join(server.ws_url, cy["token"])
    rejoin = await owner.expect(PresenceUpdate, timeout=5)
    assert rejoin.kind == "join" and rejoin.member.member == cy["member"]
    await back.close()
    again, _ = await RawClient.join(server.ws_url, cy["token"])  # back within the grace period
    msg = await owner.expect(PresenceUpdate, timeout=5)
    assert msg.kind == "update" and msg.member.connections == 1
    await again.close()
