"""Poll deadlines on a three-node cluster (real Redis, real PostgreSQL): every node runs a
deadline sweeper, nobody is connected at the deadline, and the node that stored the
polls is killed (kill -9) in the middle of their deadlines; each poll still gets exactly
one ``poll.close``, at one seq, in the SQL log and in Redis's stream, and every member
converges on the outcome."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from cosession_client import RoomClient
from protocol.messages import Event, PollClose, Product
from tests.support.cluster import Cluster
from tests.support.redis_server import RedisServer

WAIT = 60.0
JACKETS = [Product(id=f"j{i}", name=f"Jacket {i}", price=1000 * i, currency="EUR") for i in range(1, 4)]
_payload = msgspec.msgpack.Decoder(tuple[int, str, msgspec.Raw, str | None])


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
async def cluster(tmp_path: Path, redis_server: RedisServer, postgres_url: str) -> AsyncIterator[Cluster]:
    nodes = Cluster(tmp_path, redis_server.url, postgres_url, 3)
    for node in nodes.nodes:
        node.env = {"COSESSION_POLL_MIN_DEADLINE_MS": "500", "COSESSION_POLL_SWEEP_SECONDS": "0.3"}
    await nodes.start()
    try:
        yield nodes
    finally:
        nodes.kill()


async def sql_closes(database_url: str, room: str) -> list[Event]:
    engine = create_async_engine(database_url.replace("postgresql://", "postgresql+asyncpg://", 1), poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT body FROM events WHERE room_id = :r ORDER BY seq"), {"r": room})
            events = [msgspec.msgpack.decode(body, type=Event) for (body,) in rows]
    finally:
        await engine.dispose()
    return [e for e in events if isinstance(e.op, PollClose)]


async def stream_closes(redis_url: str, room: str) -> list[int]:
    """Seqs of the stream entries that carry a poll.close (payload [ts, by, op, ref])."""
    client = aioredis.from_url(redis_url)
    try:
        entries = await client.xrange("{room:" + room + "}:stream")
    finally:
        await client.aclose()
    out = []
    for entry_id, fields in entries:
        _ts, _by, op, _ref = _payload.decode(fields[b"e"])
        if msgspec.msgpack.decode(op).get("t") == "poll.close":
            out.append(int(entry_id.split(b"-")[0]))
    return out


async def test_deadlines_close_exactly_once_with_a_node_killed(cluster: Cluster, redis_server: RedisServer) -> None:
    n0, n1, n2 = cluster.nodes
    created = await n0.create_room("Cluster polls")
    room = created["room"]
    async with RoomClient.connect(created["token"], server=n0.http_url) as ana:
        invite = await ana.create_invite()
        async with RoomClient.connect(invite.url.replace(n0.http_url, n1.http_url), name="Bo") as bo:
            lines = [await ana.add_to_cart(p) for p in JACKETS]
            deadline = now_ms() + 2500
            # three polls whose deadlines straddle the kill: before, at and after it
            polls = []
            for i, offset in enumerate((-150, 0, 150)):
                options = [lines[i], lines[(i + 1) % 3]]
                outcome = "keep_winner" if i == 1 else "post_result"
                polls.append(await ana.create_poll(f"Which {i}?", options, deadline + offset, outcome=outcome))
            for poll in polls:
                await ana.vote_poll(poll, 0)
                await bo.vote_poll(poll, 0)
    # nobody is connected; kill -9 the node that stored the polls, at the middle deadline
    await asyncio.sleep(max(0.0, (deadline - now_ms()) / 1000))
    n0.kill()
    async with asyncio.timeout(WAIT):
        while len(await sql_closes(cluster.database_url, room)) < len(polls):
            await asyncio.sleep(0.2)
    await asyncio.sleep(1.5)  # several more sweeps on the two survivors
    closes = await sql_closes(cluster.database_url, room)
    assert sorted(e.op.poll for e in closes if isinstance(e.op, PollClose)) == polls, cluster.logs()
    assert sorted(await stream_closes(redis_server.url, room)) == sorted(e.seq for e in closes)
    await n0.start()  # back from the dead: it does not close them again
    await asyncio.sleep(1.0)
    assert len(await sql_closes(cluster.database_url, room)) == len(polls)
    # every member, on any node, sees the same outcome
    states = []
    for node in (n0, n1, n2):
        async with RoomClient.connect(created["token"], server=node.http_url) as ana:
            states.append(ana.state)
    assert states[0] == states[1] == states[2]
    middle = next(p for p in states[0].polls if p.id == polls[1])
    assert middle.closed and middle.winner == 0 and middle.removed == [lines[2]]
    assert [item.line for item in states[0].cart] == lines[:2]
