"""Durability: kill -9 after acks, restart on the same SQLite file, everything acked is there."""

from __future__ import annotations

import asyncio

from protocol.messages import Ack, CartAdd, Chat, Product, Resume
from tests.support.raw import RawClient
from tests.support.server import ServerProcess


async def test_acked_events_survive_kill_9(server: ServerProcess) -> None:
    room = await server.create_room()
    friend = await server.accept(room["invite"]["code"], "Bea")
    owner, welcome = await RawClient.join(server.ws_url, room["token"])
    other, _ = await RawClient.join(server.ws_url, friend["token"])
    # a burst of pipelined ops from two members; collect every ack
    acked: dict[str, int] = {}

    async def burst(client: RawClient, prefix: str, n: int) -> None:
        refs = [await client.op(Chat(text=f"{prefix}{i}"), ref=f"{prefix}{i}") for i in range(n)]
        for ref in refs:
            acked[ref] = (await client.expect(Ack, ref=ref, timeout=10)).seq

    await asyncio.gather(burst(owner, "o", 30), burst(other, "f", 30))
    await owner.op(CartAdd(product=Product(id="p", name="P", price=1, currency="USD"), qty=3), ref="cart")
    acked["cart"] = (await owner.expect(Ack, ref="cart")).seq
    server.kill()
    await server.start()
    again, welcome2 = await RawClient.join(
        server.ws_url, room["token"], resume=Resume(epoch=welcome.epoch, seq=welcome.seq)
    )
    assert welcome2.epoch == welcome.epoch
    assert welcome2.recovered
    assert welcome2.seq >= max(acked.values())
    texts = {e.op.text: e.seq for e in welcome2.events if isinstance(e.op, Chat)}
    for ref, seq in acked.items():
        if ref != "cart":
            assert texts[ref] == seq
    # the retry of an acked op after the restart is still recognised
    await again.op(CartAdd(product=Product(id="p", name="P", price=1, currency="USD"), qty=3), ref="cart")
    assert (await again.expect(Ack, ref="cart")).seq == acked["cart"]
    _, fresh = await RawClient.join(server.ws_url, room["token"])
    assert fresh.snapshot is not None and fresh.snapshot.cart[0].qty == 3
    assert fresh.snapshot.name == "Test room"


async def test_restart_with_snapshots_in_the_log(server_factory) -> None:  # type: ignore[no-untyped-def]
    server = await server_factory("--snapshot-every", "7")
    room = await server.create_room()
    owner, _ = await RawClient.join(server.ws_url, room["token"])
    for i in range(30):
        ref = await owner.op(Chat(text=f"m{i}"))
        await owner.expect(Ack, ref=ref)
    await server.restart()
    _, fresh = await RawClient.join(server.ws_url, room["token"])
    assert fresh.snapshot is not None
    assert [m.text for m in fresh.snapshot.chat] == [f"m{i}" for i in range(30)]
