"""One op the database can never store must not stall the node (issue 9, item 1).

A ref holding U+0000 used to reach PostgreSQL, which refused the row; the group committer
retried that batch forever and no op of any room was acked again. Now the decoder refuses
U+0000 on the wire (``invalid_field``, the connection stays open), and behind it the
committer isolates a refused event: its sender gets ``error internal``, its seq holds a
``log.gap``, and every other op (same batch, same room, other rooms) is committed and
acked as usual. Run on real SQLite and real PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from cosession.config import Settings
from cosession.gateway.framing import OutFrame
from cosession.rooms.room import Room
from cosession.store.committer import append_isolating
from cosession.store.store import PendingEvent
from cosession.store.store_sql import SqlStore
from protocol.codec import MSGPACK, Codec
from protocol.errors import ErrorCode
from protocol.messages import Ack, Chat, Error, Event, LogGap, Op, Ping, Pong, ServerMessage
from tests.support.inprocess import InProcessServer, running_app
from tests.support.raw import RawClient
from tests.support.redis_server import RedisServer
from tests.support.server import ServerProcess

WAIT = 10.0


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cosession.db'}"
        return
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    postgres = request.getfixturevalue("postgres_server")  # a real PostgreSQL (tests/conftest.py)
    name = postgres.next_database_name()
    admin_url = postgres.url.replace("postgresql://", "postgresql+asyncpg://", 1)
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield postgres.url_for(name)
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


class FakeConnection:
    """A member's connection as the room sees it, without a socket: records what it gets."""

    _ids = 10_000

    def __init__(self, member: str, name: str = "Olga") -> None:
        FakeConnection._ids += 1
        self.id = FakeConnection._ids
        self.member = member
        self.name = name
        self.role = "owner"
        self.device = "bot"
        self.codec: Codec = MSGPACK
        self.got: list[ServerMessage] = []
        self.arrived = asyncio.Event()

    def send(self, message: ServerMessage) -> None:
        self.got.append(message)
        self.arrived.set()

    def send_frame(self, frame: OutFrame) -> None:
        self.send(MSGPACK.decode_server(frame.payload))

    def close(self, code: int, reason: str) -> None:
        pass

    async def answer(self, ref: str) -> Ack | Error:
        async with asyncio.timeout(WAIT):
            while True:
                for msg in self.got:
                    if isinstance(msg, (Ack, Error)) and msg.ref == ref:
                        return msg
                self.arrived.clear()
                await self.arrived.wait()


async def acked_in(client: RawClient, text: str) -> tuple[float, int]:
    """Send a chat op; (seconds until its ack, its seq)."""
    start = time.monotonic()
    ref = await client.op(Chat(text=text))
    ack = await client.expect(Ack, timeout=WAIT, ref=ref)
    return time.monotonic() - start, ack.seq


async def loaded_room(server: InProcessServer, room_id: str) -> Room:
    room = await server.services.registry.get(room_id)
    assert room is not None
    return room


@pytest.mark.parametrize("fmt", ["msgpack", "json"])
async def test_a_frame_with_nul_is_invalid_field_and_the_connection_stays_open(tmp_path: Path, fmt: str) -> None:
    async with running_app(Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")) as server:
        room = await server.create_room()
        client, _ = await RawClient.join(server.ws_url, room["token"], fmt=fmt)
        try:
            await client.send(Op(ref="a\x00b", op=Chat(text="poison")))
            error = await client.expect(Error, timeout=WAIT)
            assert error.code == ErrorCode.INVALID_FIELD and error.ref is None
            await client.send(Op(ref="r-ok", op=Chat(text="still here\x00")))
            assert (await client.expect(Error, timeout=WAIT)).code == ErrorCode.INVALID_FIELD
            await client.send(Ping(nonce=7))
            assert (await client.expect(Pong, timeout=WAIT)).nonce == 7
            latency, _ = await acked_in(client, "fine")
            assert latency < WAIT
            assert server.services.committer.unstorable == 0  # nothing reached the database
        finally:
            await client.close()


async def test_a_poison_op_is_refused_and_other_rooms_keep_getting_acks(database_url: str) -> None:
    async with running_app(Settings(database_url=database_url)) as server:
        room_a, room_b = await server.create_room("A"), await server.create_room("B")
        client_a, welcome_a = await RawClient.join(server.ws_url, room_a["token"])
        client_b, _ = await RawClient.join(server.ws_url, room_b["token"])
        try:
            baseline = max([(await acked_in(client_b, f"before {i}"))[0] for i in range(5)])
            room = await loaded_room(server, room_a["room"])
            poisoner = FakeConnection(room_a["member"])
            head = room.head
            # bypass the codec: straight into the room, next to a good op of the same batch
            room.submit(poisoner, "a\x00b", Chat(text="poison"))
            room.submit(poisoner, "good", Chat(text="good op, same batch"))
            refused = await poisoner.answer("a\x00b")
            assert isinstance(refused, Error) and refused.code == ErrorCode.INTERNAL, refused
            good = await poisoner.answer("good")
            assert isinstance(good, Ack) and good.seq == head + 2, good
            # the other room: acks within its normal latency, every one of them
            after = [(await acked_in(client_b, f"after {i}"))[0] for i in range(10)]
            assert max(after) < max(1.0, 20 * baseline), (baseline, after)
            # the poisoned room goes on too: its members saw a log.gap at the refused seq
            events = await client_a.events_until(head + 2, timeout=WAIT)
            assert [type(e.op) for e in events if e.seq > welcome_a.seq][-2:] == [LogGap, Chat]
            _, seq = await acked_in(client_a, "room A goes on")
            assert seq == head + 3
            assert server.services.committer.healthy
            assert server.services.committer.unstorable == 1
        finally:
            await client_a.close()
            await client_b.close()
        # and the log agrees with what clients saw: reload the room from the database
        loaded = await server.services.store.load_room(room_a["room"], history=10, idempotency=10)
        assert loaded is not None and loaded.head == head + 3
        assert [type(e.op) for e in loaded.history[-3:]] == [LogGap, Chat, Chat]
        assert [m.text for m in loaded.state.chat] == ["good op, same batch", "room A goes on"]


async def test_a_retry_of_the_refused_op_is_checked_again_and_the_state_forgets_it(database_url: str) -> None:
    """The sequenced state had folded the refused op; it is rebuilt without it."""
    async with running_app(Settings(database_url=database_url)) as server:
        room_info = await server.create_room()
        client, _ = await RawClient.join(server.ws_url, room_info["token"])
        try:
            room = await loaded_room(server, room_info["room"])
            conn = FakeConnection(room_info["member"])
            room.submit(conn, "x\x00", Chat(text="poison"))
            assert isinstance(await conn.answer("x\x00"), Error)
            assert [m.text for m in room.state.chat] == []
            assert room.state.seq == room.committed.seq == room.head
            assert msgspec.structs.asdict(room.state) == msgspec.structs.asdict(room.committed)
            conn.got.clear()
            room.submit(conn, "x\x00", Chat(text="poison again"))
            assert isinstance(await conn.answer("x\x00"), Error)  # not remembered: refused again
        finally:
            await client.close()


async def test_append_isolating_commits_everything_but_the_refused_rows(database_url: str) -> None:
    """What the cluster archiver relies on: a row that can never be written is skipped."""
    store = SqlStore(database_url)
    await store.start()
    try:
        from cosession.store.store import RoomRecord
        from protocol.messages import RoomCreate

        first = Event(seq=1, ts=1, by="", op=RoomCreate(name="R", owner="m_1", owner_name="O"))
        enc = msgspec.msgpack.Encoder()
        await store.create_room(
            RoomRecord(id="r_iso", epoch="e1", created_at=1),
            PendingEvent(room_id="r_iso", event=first, ref=None, body=enc.encode(first)),
        )
        items = []
        for seq in range(2, 12):
            event = Event(seq=seq, ts=seq, by="m_1", op=Chat(text=f"t{seq}"))
            ref = "bad\x00" if seq in (4, 9) else f"r{seq}"
            items.append(PendingEvent(room_id="r_iso", event=event, ref=ref, body=enc.encode(event)))
        stale, bad = await append_isolating(store, items)
        assert stale == [] and [p.event.seq for p in bad] == [4, 9]
        assert await store.missing_seqs("r_iso", list(range(1, 12))) == [4, 9]
    finally:
        await store.close()


async def test_rest_bodies_with_nul_are_422_invalid_field(server: ServerProcess) -> None:
    import httpx

    room = await server.create_room()
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        for body in ({"name": "Trip\x00"}, {"owner_name": "\x00"}, {"name": "ok", "owner_name": "O\x00lga"}):
            response = await http.post("/v1/rooms", json=body)
            assert response.status_code == 422, (body, response.text)
            assert response.json()["error"]["code"] == "invalid_field"
        response = await http.post(f"/v1/invites/{room['invite']['code']}/accept", json={"name": "Bo\x00"})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_field"
        response = await http.post(f"/v1/invites/{room['invite']['code']}/accept", json={"name": "Bo"})
        assert response.status_code == 201, response.text


async def test_cluster_a_nul_ref_sequenced_by_redis_is_stored_deterministically(
    tmp_path: Path, redis_server: RedisServer, postgres_url: str
) -> None:
    """Cluster: Redis sequenced the op and every replica folded it, so the SQL log keeps
    it too (its ref with U+0000 replaced by U+FFFD), the sender is acked, nothing stalls
    and a room loaded from SQL folds the same state (docs/storage.md)."""
    config = Settings(database_url=postgres_url, redis_url=redis_server.url, node_id="poison-node")
    async with running_app(config) as server:
        room_a, room_b = await server.create_room("A"), await server.create_room("B")
        client_a, _ = await RawClient.join(server.ws_url, room_a["token"])
        client_b, _ = await RawClient.join(server.ws_url, room_b["token"])
        try:
            room = await loaded_room(server, room_a["room"])
            conn = FakeConnection(room_a["member"])
            room.submit(conn, "a\x00b", Chat(text="poison"))
            acked = await conn.answer("a\x00b")
            assert isinstance(acked, Ack), acked
            for i in range(5):
                latency, _ = await acked_in(client_b, f"other room {i}")
                assert latency < 5.0
            _, seq = await acked_in(client_a, "room A goes on")
            assert seq == acked.seq + 1
            assert server.services.committer.unstorable == 0
            # the archiver writes the same row from Redis's stream when the log lacks it
            from sqlalchemy import text

            async with server.services.store.engine.begin() as db:
                await db.execute(
                    text("DELETE FROM events WHERE room_id = :r AND seq = :s"), {"r": room.id, "s": acked.seq}
                )
            stream = await room._redis.read_stream(room.id, after=0)  # type: ignore[attr-defined]
            assert await room.archive(stream) == 1
        finally:
            await client_a.close()
            await client_b.close()
        loaded = await server.services.store.load_room(room_a["room"], history=10, idempotency=10)
        assert loaded is not None and loaded.head == seq
        assert [m.text for m in loaded.state.chat] == ["poison", "room A goes on"]
        assert (room_a["member"], "a\ufffdb", acked.seq) in loaded.refs


async def test_a_data_error_is_unstorable_and_an_unreachable_database_is_not(database_url: str) -> None:
    """The committer's one distinction: a refused row (isolate it) versus a database that
    cannot be reached (retry forever, ack nothing)."""
    from cosession.store.store import RoomRecord, UnstorableError
    from protocol.messages import RoomCreate

    store = SqlStore(database_url)
    await store.start()
    enc = msgspec.msgpack.Encoder()
    try:
        first = Event(seq=1, ts=1, by="", op=RoomCreate(name="R", owner="m_1", owner_name="O"))
        await store.create_room(
            RoomRecord(id="r_err", epoch="e1", created_at=1),
            PendingEvent(room_id="r_err", event=first, ref=None, body=enc.encode(first)),
        )
        event = Event(seq=2, ts=2, by="m_1", op=Chat(text="x"))
        if database_url.startswith("postgresql"):
            # PostgreSQL's own refusal (varchar(64)), not our U+0000 check
            too_long = PendingEvent(room_id="r_err", event=event, ref="x" * 65, body=enc.encode(event))
            with pytest.raises(UnstorableError):
                await store.append([too_long], [])
        with pytest.raises(UnstorableError):
            await store.append([PendingEvent(room_id="r_err", event=event, ref="\x00", body=enc.encode(event))], [])
    finally:
        await store.close()
    unreachable = SqlStore("postgresql://nobody@127.0.0.1:9/none")
    try:
        with pytest.raises(Exception) as failed:
            await unreachable.append([PendingEvent(room_id="r", event=event, ref="r", body=b"")], [])
        assert not isinstance(failed.value, UnstorableError), failed.value
    finally:
        await unreachable.close()
