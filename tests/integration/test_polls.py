"""Polls with deadlines (SPEC 17) against a real server subprocess on SQLite.

Bad input for each op (decoder and rule level, and the clock rules of the sequencer);
a deadline that passes with no client connected yields exactly one ``poll.close`` at one
seq, also across a ``kill -9`` of the server at the deadline; ``keep_winner`` removes the
losing lines for every member.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from cosession_client import OpRejected, RoomClient
from protocol.codec import MSGPACK
from protocol.errors import CloseCode, ErrorCode
from protocol.messages import Error, Event, Op, PollClose, PollOption, PollVote, Product
from tests.conftest import ServerFactory
from tests.support.raw import RawClient
from tests.support.server import ServerProcess

MIN_DEADLINE_MS = 800  # the server's test-only floor (COSESSION_POLL_MIN_DEADLINE_MS)
WAIT = 20.0
RAIN = Product(id="rain", name="Rain jacket", price=8900, currency="EUR")
WOOL = Product(id="wool", name="Wool jacket", price=15900, currency="EUR")
DENIM = Product(id="denim", name="Denim jacket", price=6900, currency="EUR")


def now_ms() -> int:
    return int(time.time() * 1000)


async def start(tmp_path: Path) -> ServerProcess:
    env = {"COSESSION_POLL_MIN_DEADLINE_MS": str(MIN_DEADLINE_MS), "COSESSION_POLL_SWEEP_SECONDS": "0.3"}
    proc = ServerProcess(tmp_path, env=env)
    await proc.start()
    return proc


@pytest.fixture
async def srv(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    proc = await start(tmp_path)
    try:
        yield proc
    finally:
        proc.kill()


def stored_closes(db: Path, room: str) -> list[Event]:
    """The ``poll.close`` events of ``room`` in the server's SQL log."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT body FROM events WHERE room_id = ? ORDER BY seq", (room,)).fetchall()
    events = [msgspec.msgpack.decode(body, type=Event) for (body,) in rows]
    return [e for e in events if isinstance(e.op, PollClose)]


def deadline_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM poll_deadlines").fetchone()[0])


async def until_closed(db: Path, room: str) -> list[Event]:
    async with asyncio.timeout(WAIT):
        while not (found := stored_closes(db, room)):
            await asyncio.sleep(0.1)
    return found


async def rejected(coro: object) -> str:
    with pytest.raises(OpRejected) as info:
        await coro  # type: ignore[misc]
    return info.value.code


async def test_bad_input_for_each_poll_op(srv: ServerProcess) -> None:
    created = await srv.create_room("Polls")
    async with RoomClient.connect(created["token"], server=srv.http_url) as ana:
        viewer_invite = await ana.create_invite("viewer")
        a = await ana.add_to_cart(RAIN)
        b = await ana.add_to_cart(WOOL)
        soon = now_ms() + 60_000
        # the sequencer's clock rules: 800 ms .. 30 days ahead
        assert await rejected(ana.create_poll("Which?", [a, b], now_ms() + 50)) == ErrorCode.INVALID_FIELD
        too_far = now_ms() + 31 * 24 * 3600 * 1000
        assert await rejected(ana.create_poll("Which?", [a, b], too_far)) == ErrorCode.INVALID_FIELD
        # rules in the reducer
        assert await rejected(ana.create_poll("Which?", [a, 999], soon)) == ErrorCode.NOT_FOUND
        assert await rejected(ana.vote_poll(999, 0)) == ErrorCode.NOT_FOUND
        poll = await ana.create_poll("Which?", [a, b], soon)
        assert await rejected(ana.vote_poll(poll, 2)) == ErrorCode.INVALID_FIELD
        async with RoomClient.connect(viewer_invite.url, name="Vic") as vic:
            assert await rejected(vic.create_poll("Mine?", [a, b], soon)) == ErrorCode.FORBIDDEN
            assert await rejected(vic.vote_poll(poll, 0)) == ErrorCode.FORBIDDEN
        # at most 10 open polls
        for _ in range(9):
            await ana.create_poll("More?", [a, b], soon, outcome="post_result")
        assert await rejected(ana.create_poll("Eleven?", [a, b], soon)) == ErrorCode.FORBIDDEN
        # malformed frames: invalid_field, and the connection stays usable
        raw, _ = await RawClient.join(srv.ws_url, created["token"])
        try:
            body = {"t": "poll.create", "question": "Q", "deadline": soon, "outcome": "keep_winner"}
            frames = [
                {**body, "options": [{"line": a}]},  # one option
                {**body, "options": [{"line": n} for n in range(1, 8)]},  # seven
                {**body, "options": [{"line": a}, {"line": a}]},  # the same line twice
                {**body, "options": [{"line": a}, {"label": "x"}]},  # neither line nor product
                {**body, "options": [{"line": a}, {"line": b}], "outcome": "keep_all"},
                {**body, "options": [{"line": a}, {"line": b}], "question": "q" * 301},
                {"t": "poll.vote", "poll": poll, "option": 6},
                {"t": "poll.close", "poll": poll},  # a server event
            ]
            for frame in frames:
                await raw.send_raw(MSGPACK.encode({"t": "op", "ref": "bad", "op": frame}))
                error = await raw.expect(Error)
                assert error.code == ErrorCode.INVALID_FIELD, frame
            await raw.send_raw(MSGPACK.encode({"t": "ping", "nonce": 7}))
        finally:
            await raw.close()


async def test_votes_change_until_the_deadline_then_poll_closed(srv: ServerProcess) -> None:
    created = await srv.create_room("Votes")
    async with RoomClient.connect(created["token"], server=srv.http_url) as ana:
        a = await ana.add_to_cart(RAIN)
        b = await ana.add_to_cart(WOOL)
        poll = await ana.create_poll("Which?", [a, b], now_ms() + 1500, outcome="post_result")
        await ana.vote_poll(poll, 0)
        await ana.vote_poll(poll, 1)
        assert ana.polls[-1].votes == {ana.member: 1}
        async with asyncio.timeout(WAIT):
            while not ana.polls[-1].closed:
                await asyncio.sleep(0.05)
        assert ana.polls[-1].tally == [0, 1] and ana.polls[-1].winner == 1
        assert [item.line for item in ana.state.cart] == [a, b]  # post_result keeps the cart
        assert await rejected(ana.vote_poll(poll, 0)) == ErrorCode.POLL_CLOSED


async def test_deadline_fires_with_nobody_connected_exactly_once(srv: ServerProcess) -> None:
    created = await srv.create_room("Async")
    room = created["room"]
    async with RoomClient.connect(created["token"], server=srv.http_url) as ana:
        invite = await ana.create_invite()
        a, b, c = [await ana.add_to_cart(p) for p in (RAIN, WOOL, DENIM)]
        async with RoomClient.connect(invite.url, name="Bo") as bo:
            poll = await bo.create_poll("Which one?", [a, b, PollOption(line=c, label="denim")], now_ms() + 1200)
            await bo.vote_poll(poll, 1)
            await ana.vote_poll(poll, 1)
    assert deadline_rows(srv.db) == 1
    # nobody is connected now: the server closes the poll on its own
    closes = await until_closed(srv.db, room)
    await asyncio.sleep(1.0)  # three more sweeps: still one close
    closes = stored_closes(srv.db, room)
    assert len(closes) == 1 and closes[0].by == "" and closes[0].op == PollClose(poll=poll, tally=[0, 2, 0], winner=1)
    assert deadline_rows(srv.db) == 0
    await srv.restart()  # a restart does not fire it again
    async with RoomClient.connect(created["token"], server=srv.http_url) as ana:
        closed = ana.polls[-1]
        assert closed.closed and closed.winner == 1 and closed.removed == [a, c]
        assert [item.line for item in ana.state.cart] == [b]
    assert [e.seq for e in stored_closes(srv.db, room)] == [closes[0].seq]


async def test_a_kill_at_the_deadline_still_closes_once(srv: ServerProcess) -> None:
    created = await srv.create_room("Crash")
    room = created["room"]
    async with RoomClient.connect(created["token"], server=srv.http_url) as ana:
        a = await ana.add_to_cart(RAIN)
        b = await ana.add_to_cart(WOOL)
        deadline = now_ms() + 1000
        await ana.create_poll("Which?", [a, b], deadline)
        await ana.vote_poll(ana.polls[-1].id, 0)
    await asyncio.sleep(max(0.0, (deadline - now_ms()) / 1000))
    srv.kill()  # kill -9 right at the deadline: before, during or after the close
    await srv.start()
    closes = await until_closed(srv.db, room)
    await asyncio.sleep(1.0)
    assert [e.seq for e in stored_closes(srv.db, room)] == [closes[0].seq]
    assert deadline_rows(srv.db) == 0


async def test_keep_winner_removes_the_losers_for_every_member(srv: ServerProcess) -> None:
    created = await srv.create_room("Live")
    async with RoomClient.connect(created["token"], server=srv.http_url) as ana:
        invite = await ana.create_invite()
        async with RoomClient.connect(invite.url, name="Bo") as bo, RoomClient.connect(invite.url, name="Cy") as cy:
            a, b, c = [await ana.add_to_cart(p) for p in (RAIN, WOOL, DENIM)]
            poll = await ana.create_poll("Which?", [a, b, c], now_ms() + 1200)
            for client, option in ((ana, 2), (bo, 2), (cy, 0)):
                await client.vote_poll(poll, option)
            async with asyncio.timeout(WAIT):
                while not all(x.polls and x.polls[-1].closed for x in (ana, bo, cy)):
                    await asyncio.sleep(0.05)
            for client in (ana, bo, cy):
                assert [item.line for item in client.state.cart] == [c]
                assert client.polls[-1].winner == 2 and client.polls[-1].removed == [a, b]
            assert ana.state == bo.state == cy.state


async def test_a_tie_removes_nothing(srv: ServerProcess) -> None:
    created = await srv.create_room("Tie")
    async with RoomClient.connect(created["token"], server=srv.http_url) as ana:
        invite = await ana.create_invite()
        async with RoomClient.connect(invite.url, name="Bo") as bo:
            a = await ana.add_to_cart(RAIN)
            b = await ana.add_to_cart(WOOL)
            poll = await ana.create_poll("Which?", [a, b], now_ms() + 1000)
            await ana.vote_poll(poll, 0)
            await bo.vote_poll(poll, 1)
            async with asyncio.timeout(WAIT):
                while not bo.polls[-1].closed:
                    await asyncio.sleep(0.05)
            assert bo.polls[-1].winner is None and bo.polls[-1].tally == [1, 1]
            assert [item.line for item in bo.state.cart] == [a, b]


async def test_two_fires_of_one_deadline_make_one_event(tmp_path: Path) -> None:
    """Two closes of the same deadline at once (a lease that expired while its holder was
    still closing, so two sweeps both hold the row): one poll.close, one seq."""
    from cosession.config import Settings
    from cosession.polls.deadlines import Due
    from tests.support.inprocess import running_app

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", poll_sweep_seconds=0)  # no sweeper
    settings = dataclasses.replace(settings, poll_min_deadline_ms=MIN_DEADLINE_MS)
    async with running_app(settings) as srv:
        created = await srv.create_room()
        async with RoomClient.connect(created["token"], server=srv.http_url) as ana:
            a = await ana.add_to_cart(RAIN)
            b = await ana.add_to_cart(WOOL)
            deadline = now_ms() + MIN_DEADLINE_MS + 300
            poll = await ana.create_poll("Which?", [a, b], deadline)
            await ana.vote_poll(poll, 1)
            await asyncio.sleep(max(0.0, (deadline - now_ms()) / 1000))
            sweeper = srv.app.state.polls
            due = Due(room_id=created["room"], poll=poll, deadline=deadline)
            assert await asyncio.gather(sweeper.fire(due), sweeper.fire(due), sweeper.fire(due)) == [True] * 3
            assert await sweeper.fire(due)  # and again later: nothing to do
            async with asyncio.timeout(WAIT):
                while not ana.polls[-1].closed:
                    await asyncio.sleep(0.05)
            closes = [e for e in ana.state.polls if e.closed]
            assert len(closes) == 1 and [item.line for item in ana.state.cart] == [b]
    assert len(stored_closes(tmp_path / "db.sqlite", created["room"])) == 1


async def test_a_vote_flood_is_rate_limited_and_the_tally_stays_one_vote(server_factory: ServerFactory) -> None:
    server = await server_factory("--ops-per-second", "5", "--ops-burst", "10")
    created = await server.create_room("Flood")
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        a = await ana.add_to_cart(RAIN)
        b = await ana.add_to_cart(WOOL)
        poll = await ana.create_poll("Which?", [a, b], now_ms() + 120_000)
        invite = await ana.create_invite()
        raw, _ = await RawClient.join(server.ws_url, (await server.accept(invite.code, "Flo"))["token"])
        try:
            for i in range(200):
                try:
                    await raw.send(Op(ref=f"v{i}", op=PollVote(poll=poll, option=i % 2)))
                except Exception:
                    break
            assert await raw.closed_with() == CloseCode.RATE_LIMITED
        finally:
            await raw.close()
        assert ErrorCode.RATE_LIMITED in [m.code for m in raw.seen if isinstance(m, Error)]
        # the burst went through; one member holds one vote however many it sent
        async with asyncio.timeout(WAIT):
            while not ana.polls[-1].votes:
                await asyncio.sleep(0.05)
        assert await ana.vote_poll(poll, 0) > 0  # the room and the server carry on
        assert len(ana.polls[-1].votes) == 2 and ana.polls[-1].votes[ana.member] == 0


async def test_the_close_does_not_wait_for_the_next_sweep(server_factory: ServerFactory) -> None:
    """Sweeps a minute apart: the poll closes anyway, because storing it woke the sweeper
    for its deadline (the wait below is far shorter than the sweep interval)."""
    server = await server_factory("--poll-min-deadline-ms", str(MIN_DEADLINE_MS), "--poll-sweep-seconds", "60")
    created = await server.create_room("Prompt")
    async with RoomClient.connect(created["token"], server=server.http_url) as ana:
        a = await ana.add_to_cart(RAIN)
        b = await ana.add_to_cart(WOOL)
        await asyncio.sleep(1.0)  # the first sweep has run: the next is a minute away
        await ana.create_poll("Which?", [a, b], now_ms() + 1500, outcome="post_result")
        async with asyncio.timeout(WAIT):
            while not ana.polls[-1].closed:
                await asyncio.sleep(0.05)
