"""Resume after a dropped connection: exactly the missed events, or a snapshot."""

from __future__ import annotations

import asyncio

from protocol.messages import Ack, CartAdd, Chat, Event, Product, Resume
from protocol.reducer import copy_state
from tests.support.folding import View
from tests.support.raw import RawClient
from tests.support.server import ServerProcess

SHOE = Product(id="shoe", name="Shoe", price=4999, currency="EUR")


async def edit(client: RawClient, count: int, prefix: str) -> list[int]:
    seqs = []
    for i in range(count):
        ref = await client.op(Chat(text=f"{prefix} {i}"))
        ack = await client.expect(Ack, ref=ref)
        seqs.append(ack.seq)
    return seqs


async def two_members(server: ServerProcess) -> tuple[dict[str, str], str, str]:
    room = await server.create_room()
    friend = await server.accept(room["invite"]["code"], "Bea")
    return room, room["token"], friend["token"]


async def test_dropped_client_gets_exactly_the_missed_events(server: ServerProcess) -> None:
    _room, owner_token, friend_token = await two_members(server)
    owner, _ = await RawClient.join(server.ws_url, owner_token)
    friend, welcome = await RawClient.join(server.ws_url, friend_token)
    view = View(welcome)
    await edit(owner, 3, "before")
    for event in await friend.events_until(welcome.seq + 3):
        view.fold(event)
    # drop the friend's socket abruptly (no close frame) while the owner keeps editing
    friend.ws.transport.abort()
    missed = await edit(owner, 7, "while away")
    friend2, welcome2 = await RawClient.join(
        server.ws_url, friend_token, resume=Resume(epoch=welcome.epoch, seq=view.state.seq)
    )
    assert welcome2.recovered
    assert [e.seq for e in welcome2.events] == missed
    before = copy_state(view.state)
    view2 = View(welcome2, base=before)
    # and the stream continues without a gap
    later = await edit(owner, 2, "after")
    for event in await friend2.events_until(later[-1]):
        view2.fold(event)
    assert [m.text for m in view2.state.chat][-9:] == [f"while away {i}" for i in range(7)] + ["after 0", "after 1"]


async def test_history_gone_gives_snapshot(server_factory) -> None:  # type: ignore[no-untyped-def]
    server = await server_factory("--history-events", "5")
    _room, owner_token, friend_token = await two_members(server)
    owner, _ = await RawClient.join(server.ws_url, owner_token)
    friend, welcome = await RawClient.join(server.ws_url, friend_token)
    await friend.close()
    await edit(owner, 12, "lots")
    _, welcome2 = await RawClient.join(server.ws_url, friend_token, resume=Resume(epoch=welcome.epoch, seq=welcome.seq))
    assert not welcome2.recovered
    assert welcome2.snapshot is not None and welcome2.snapshot.seq == welcome2.seq == welcome.seq + 12
    # within the window it still replays
    owner2, w3 = await RawClient.join(
        server.ws_url, owner_token, resume=Resume(epoch=welcome.epoch, seq=welcome2.seq - 4)
    )
    assert w3.recovered and [e.seq for e in w3.events] == list(range(welcome2.seq - 3, welcome2.seq + 1))
    await owner2.close()


async def test_client_ahead_or_other_epoch_gets_snapshot(server: ServerProcess) -> None:
    _room, owner_token, _ = await two_members(server)
    _, welcome = await RawClient.join(server.ws_url, owner_token)
    _, ahead = await RawClient.join(
        server.ws_url, owner_token, resume=Resume(epoch=welcome.epoch, seq=welcome.seq + 50)
    )
    assert not ahead.recovered and ahead.snapshot is not None and ahead.seq == welcome.seq
    _, other = await RawClient.join(server.ws_url, owner_token, resume=Resume(epoch="not-this-one", seq=1))
    assert not other.recovered and other.snapshot is not None


async def test_unacked_op_retried_after_reconnect_is_applied_once(server: ServerProcess) -> None:
    _room, owner_token, friend_token = await two_members(server)
    owner, owner_welcome = await RawClient.join(server.ws_url, owner_token)
    friend, welcome = await RawClient.join(server.ws_url, friend_token)
    # send an op and drop the connection before reading its ack
    await friend.op(CartAdd(product=SHOE, qty=1), ref="add-shoe-1")
    event = await owner.expect(Event, timeout=5)
    while not isinstance(event.op, CartAdd):
        event = await owner.expect(Event, timeout=5)
    friend.ws.transport.abort()
    # the retry after reconnect gets the original ack and adds nothing
    friend2, welcome2 = await RawClient.join(
        server.ws_url, friend_token, resume=Resume(epoch=welcome.epoch, seq=welcome.seq)
    )
    await friend2.op(CartAdd(product=SHOE, qty=1), ref="add-shoe-1")
    ack = await friend2.expect(Ack, ref="add-shoe-1")
    assert ack.seq == event.seq
    # a marker op proves nothing else was appended in between
    marker = await friend2.op(Chat(text="marker"))
    marker_ack = await friend2.expect(Ack, ref=marker)
    assert marker_ack.seq == event.seq + 1
    _, fresh = await RawClient.join(server.ws_url, owner_token)
    assert fresh.snapshot is not None
    [line] = fresh.snapshot.cart
    assert line.qty == 1
    del owner_welcome, welcome2


async def test_retry_racing_the_original_is_applied_once(server: ServerProcess) -> None:
    """Two tabs of one member send the same ref at once: one event, both acked."""
    _room, owner_token, _ = await two_members(server)
    tab1, _ = await RawClient.join(server.ws_url, owner_token)
    tab2, _ = await RawClient.join(server.ws_url, owner_token)
    await asyncio.gather(tab1.op(CartAdd(product=SHOE), ref="same"), tab2.op(CartAdd(product=SHOE), ref="same"))
    a1 = await tab1.expect(Ack, ref="same")
    a2 = await tab2.expect(Ack, ref="same")
    assert a1.seq == a2.seq
    _, fresh = await RawClient.join(server.ws_url, owner_token)
    assert fresh.snapshot is not None and [line.qty for line in fresh.snapshot.cart] == [1]
