"""Hypothesis against a real server: random ops from several members, sent concurrently
in random interleavings, fold to the server's state on every member."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.messages import (
    CartAdd,
    CartQty,
    CartRemove,
    Chat,
    ClientOpBody,
    Product,
    React,
    RoomLock,
    RoomRename,
    Vote,
)
from tests.support.raw import RawClient
from tests.support.scripts import run_scripts
from tests.support.server import ServerProcess

PRODUCTS = [
    Product(id=f"p{i}", name=f"P{i}", price=i * 100, currency="EUR", variant=v) for i in (1, 2) for v in (None, "L")
]
LINE_IDS = st.integers(min_value=1, max_value=40)  # seqs: some are lines, some are not
# any text a client may send: no U+0000 (SPEC section 1: the decoder refuses it)
TEXT = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")

ops = st.one_of(
    st.builds(CartAdd, product=st.sampled_from(PRODUCTS), qty=st.integers(1, 999)),
    st.builds(CartQty, line=LINE_IDS, qty=st.integers(1, 999)),
    st.builds(CartRemove, line=LINE_IDS),
    st.builds(Vote, line=LINE_IDS, value=st.sampled_from(["up", "down", "clear"])),
    st.builds(Chat, text=st.text(TEXT, min_size=1, max_size=20), reply_to=st.none() | LINE_IDS),
    st.builds(React, msg=LINE_IDS, emoji=st.sampled_from(["👍", "😀"]), on=st.booleans()),
    st.builds(RoomRename, name=st.text(TEXT, min_size=1, max_size=10)),
    st.builds(RoomLock, locked=st.booleans()),
)


@pytest.fixture(scope="module")
def live_server() -> Iterator[ServerProcess]:
    with tempfile.TemporaryDirectory() as tmp:
        proc = ServerProcess(Path(tmp), "--ops-burst", "1000", "--ops-per-second", "1000")
        asyncio.run(proc.start())
        try:
            yield proc
        finally:
            proc.kill()


async def scenario(server: ServerProcess, scripts: list[list[ClientOpBody]], pauses: list[int]) -> None:
    room = await server.create_room()
    tokens = [room["token"]] + [
        (await server.accept(room["invite"]["code"], f"M{i}"))["token"] for i in range(len(scripts) - 1)
    ]
    clients = []
    for i, token in enumerate(tokens):
        clients.append(await RawClient.join(server.ws_url, token, fmt="json" if i % 2 else "msgpack"))

    async with asyncio.timeout(60):
        head, views = await run_scripts(clients, scripts, pauses)
        _, final = await RawClient.join(server.ws_url, room["token"])
    assert final.snapshot is not None and final.seq == head
    for view in views:
        assert view.state == final.snapshot
    for client, _ in clients:
        await client.close()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    scripts=st.lists(st.lists(ops, min_size=1, max_size=12), min_size=2, max_size=4),
    pauses=st.lists(st.integers(0, 3), min_size=4, max_size=4),
)
def test_random_interleavings_converge(
    live_server: ServerProcess, scripts: list[list[ClientOpBody]], pauses: list[int]
) -> None:
    asyncio.run(scenario(live_server, scripts, pauses[: len(scripts)]))
