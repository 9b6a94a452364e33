"""Durability: kill -9 while ops are in flight, restart on the same SQLite file, everything
acked is there and nothing twice."""

from __future__ import annotations

import asyncio
import contextlib
import os

from websockets.exceptions import ConnectionClosed

from cosession.config import Settings
from protocol.messages import Ack, Chat, Error, Resume
from tests.support.raw import RawClient

CHUNK = 20  # ops each member writes back to back in a round
ROUNDS = 10  # at most; the kill comes after the round in which KILL_AFTER_ACKS acks are in
KILL_AFTER_ACKS = 10
KILL_WITH_UNACKED = 2 * CHUNK  # at least the round just written is un-acked at the kill


async def test_acked_events_survive_kill_9(server_factory) -> None:  # type: ignore[no-untyped-def]
    """kill -9 while two members have ops pipelined and un-acked, on the default
    ``synchronous=FULL``: after the restart every acked op is there once with its seq,
    every un-acked one at most once, and retrying those refs applies each exactly once."""
    assert Settings().sqlite_synchronous == "FULL" and "COSESSION_SQLITE_SYNCHRONOUS" not in os.environ
    server = await server_factory("--ops-per-second", "100000", "--ops-burst", "100000")  # no rate limit
    assert "--sqlite-synchronous" not in server.command()
    room = await server.create_room()
    friend = await server.accept(room["invite"]["code"], "Bea")
    owner, welcome = await RawClient.join(server.ws_url, room["token"])
    other, _ = await RawClient.join(server.ws_url, friend["token"])
    sent: dict[str, str] = {}  # ref (also the chat text) -> token of the member who wrote it
    acked: dict[str, int] = {}  # ref -> seq, every ack that arrived (also after the kill)
    ack_arrived = asyncio.Event()
    at_kill: list[tuple[int, int]] = []  # (written, acked) when the kill happened

    async def read(client: RawClient) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                msg = await client.recv(timeout=30)
                assert not isinstance(msg, Error), msg
                if isinstance(msg, Ack):
                    acked[msg.ref] = msg.seq
                    ack_arrived.set()

    async def write_round(n: int) -> None:
        """CHUNK ops from each member, back to back, no waiting for acks (pipelined)."""
        for client, token, prefix in ((owner, room["token"], "o"), (other, friend["token"], "f")):
            for i in range(n * CHUNK, (n + 1) * CHUNK):
                ref = f"{prefix}{i}"
                await client.op(Chat(text=ref), ref=ref)
                sent[ref] = token

    async def drive() -> None:
        for n in range(ROUNDS):
            await write_round(n)
            if len(acked) >= KILL_AFTER_ACKS:
                # right after writing a round, before reading anything: those ops cannot be
                # acked yet (the client reads nothing in between), and the server is busy
                server.kill()
                at_kill.append((len(sent), len(acked)))
                return
            ack_arrived.clear()
            await asyncio.wait_for(ack_arrived.wait(), 10)  # let some acks in, then write more

    async with asyncio.timeout(60):
        readers = [asyncio.create_task(read(owner)), asyncio.create_task(read(other))]
        await drive()
        await asyncio.gather(*readers)  # acks already on the wire at the kill still count
    assert at_kill, f"every op was acked before the kill could happen ({len(acked)} of {len(sent)})"
    written, acked_then = at_kill[0]
    assert acked_then >= KILL_AFTER_ACKS and written - acked_then >= KILL_WITH_UNACKED, at_kill
    unacked = [ref for ref in sent if ref not in acked]
    assert unacked  # (acks already on the wire at the kill were read and count as acked)

    await server.start()
    again, welcome2 = await RawClient.join(
        server.ws_url, room["token"], resume=Resume(epoch=welcome.epoch, seq=welcome.seq)
    )
    assert welcome2.epoch == welcome.epoch and welcome2.recovered
    assert welcome2.seq >= max(acked.values())
    seqs: dict[str, list[int]] = {}
    for e in welcome2.events:
        if isinstance(e.op, Chat):
            seqs.setdefault(e.op.text, []).append(e.seq)
    assert set(seqs) <= set(sent), set(seqs) - set(sent)
    for ref, seq in acked.items():
        assert seqs.get(ref) == [seq], (ref, seq, seqs.get(ref))  # acked: there, once, same seq
    assert all(len(seqs.get(ref, [])) <= 1 for ref in unacked)  # un-acked: at most once

    # each member retries its un-acked refs (and one acked ref): every op ends up applied once
    friend_again, _ = await RawClient.join(server.ws_url, friend["token"])
    clients = {room["token"]: again, friend["token"]: friend_again}
    retried = [*unacked, "o0", "f0"]
    for ref in retried:
        await clients[sent[ref]].op(Chat(text=ref), ref=ref)
    retry_acks: dict[str, int] = {}

    async def collect(client: RawClient, refs: set[str]) -> None:
        """Every ack for ``refs``, in whatever order (a recognised retry is answered at once)."""
        while not refs <= set(retry_acks):
            msg = await client.recv(timeout=10)
            assert not isinstance(msg, Error), msg
            if isinstance(msg, Ack):
                retry_acks[msg.ref] = msg.seq

    await asyncio.gather(
        *(collect(client, {ref for ref in retried if sent[ref] == token}) for token, client in clients.items())
    )
    for ref in retried:
        seq = retry_acks[ref]
        if ref in acked:
            assert seq == acked[ref]  # recognised after the restart
        elif ref in seqs:
            assert seq == seqs[ref][0]  # applied before the kill, ack lost: recognised
    _, fresh = await RawClient.join(server.ws_url, room["token"])
    assert fresh.snapshot is not None and fresh.snapshot.name == "Test room"
    assert sorted(m.text for m in fresh.snapshot.chat) == sorted(sent)  # each op exactly once


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
