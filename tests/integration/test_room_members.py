"""Several members in one room over real sockets: same events, same order, same state."""

from __future__ import annotations

import asyncio
import random

import httpx
import msgspec
import pytest

from protocol.messages import (
    Ack,
    CartAdd,
    CartQty,
    CartRemove,
    Chat,
    ClientOpBody,
    Error,
    Event,
    Product,
    React,
    RoomState,
    Vote,
)
from tests.support.folding import View
from tests.support.raw import RawClient
from tests.support.server import ServerProcess

PRODUCTS = [Product(id=f"p{i}", name=f"Product {i}", price=100 * i, currency="EUR") for i in range(1, 6)]


def random_op(rng: random.Random, state: RoomState) -> ClientOpBody:
    lines = [line.line for line in state.cart]
    chats = [m.id for m in state.chat]
    roll = rng.random()
    if roll < 0.35 or not lines:
        return CartAdd(product=rng.choice(PRODUCTS), qty=rng.randint(1, 3))
    if roll < 0.5:
        return CartQty(line=rng.choice(lines), qty=rng.randint(1, 9))
    if roll < 0.6:
        return CartRemove(line=rng.choice(lines))
    if roll < 0.75:
        return Vote(line=rng.choice(lines), value=rng.choice(["up", "down", "clear"]))
    if roll < 0.9 or not chats:
        return Chat(text=f"msg {rng.randint(0, 999)}")
    return React(msg=rng.choice(chats), emoji=rng.choice(["👍", "❤️"]), on=rng.random() < 0.7)


async def snapshot(server: ServerProcess, room: str, token: str) -> tuple[int, RoomState]:
    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"{server.http_url}/v1/rooms/{room}/snapshot", headers={"authorization": f"Bearer {token}"}
        )
        response.raise_for_status()
        data = response.json()
    return data["seq"], msgspec.convert(data["state"], RoomState)


async def member_session(client: RawClient, view: View, ops: int, seed: int) -> list[int]:
    """Send ``ops`` ops one at a time (like a person), folding everything received;
    returns the seqs of the acked ops."""
    rng = random.Random(seed)
    acked: list[int] = []
    for _ in range(ops):
        ref = await client.op(random_op(rng, view.state))
        while True:
            msg = await client.recv(timeout=15)
            if isinstance(msg, Event):
                view.fold(msg)
                view.events.append(msg)
            elif isinstance(msg, Ack) and msg.ref == ref:
                acked.append(msg.seq)
                break
            elif isinstance(msg, Error) and msg.ref == ref:
                assert msg.code == "not_found", msg  # a line or message another member just removed
                break
    return acked


async def drain(client: RawClient, view: View, until: int) -> None:
    while view.state.seq < until:
        msg = await client.recv(timeout=15)
        if isinstance(msg, Event):
            view.fold(msg)
            view.events.append(msg)


@pytest.mark.parametrize("members,fmt_mix", [(2, False), (5, True)])
async def test_members_see_same_events_in_same_order(server: ServerProcess, members: int, fmt_mix: bool) -> None:
    room = await server.create_room()
    tokens = [room["token"]]
    for i in range(members - 1):
        tokens.append((await server.accept(room["invite"]["code"], f"Friend {i}"))["token"])
    clients: list[RawClient] = []
    views: list[View] = []
    for i, token in enumerate(tokens):
        fmt = "json" if fmt_mix and i % 2 else "msgpack"
        client, welcome = await RawClient.join(server.ws_url, token, fmt=fmt)
        clients.append(client)
        views.append(View(welcome))
    # everyone has joined: the last welcome's seq is the common starting point; catch up first
    start = views[-1].state.seq
    for client, view in zip(clients, views, strict=True):
        while view.state.seq < start:
            msg = await client.recv()
            if isinstance(msg, Event):
                view.fold(msg)
        view.events = []

    ops_each = 25
    async with asyncio.timeout(90):
        acked = await asyncio.gather(
            *(member_session(c, v, ops_each, seed=i) for i, (c, v) in enumerate(zip(clients, views, strict=True)))
        )
        all_acked = sorted(seq for seqs in acked for seq in seqs)
        final = max([start, *all_acked])
        await asyncio.gather(*(drain(c, v, final) for c, v in zip(clients, views, strict=True)))
    # every acked op got its own seq, and nothing but acked ops was appended
    assert len(set(all_acked)) == len(all_acked)
    assert all_acked == list(range(start + 1, final + 1))
    assert len(all_acked) > members * ops_each // 2

    seq, server_state = await snapshot(server, room["room"], room["token"])
    reference = [(e.seq, e.by, e.op) for e in views[0].events]
    assert [s for s, _, _ in reference] == list(range(start + 1, seq + 1))
    for view in views:
        assert [(e.seq, e.by, e.op) for e in view.events] == reference
        assert view.state == server_state
    for client in clients:
        await client.close()
