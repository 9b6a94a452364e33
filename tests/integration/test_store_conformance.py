"""One conformance suite for every ``Store``: SQLite (a temp file) and PostgreSQL (a fresh
database on the session's private server). Whatever passes here, the rooms may rely on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from cosession.migrations import head_revision, target_metadata
from cosession.store.store import Invite, InviteError, PendingEvent, RoomRecord, SnapshotWrite, Store
from cosession.store.store_sql import SqlStore, driver_url
from protocol.messages import Chat, Event, RoomCreate, RoomState
from protocol.reducer import apply

_encoder = msgspec.msgpack.Encoder()
T0 = 1_700_000_000_000  # ms: beyond 32 bits, as every real timestamp is


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[SqlStore]:
    s = SqlStore(store_url, sqlite_synchronous="NORMAL")
    await s.start()
    try:
        yield s
    finally:
        await s.close()


def pending(
    room_id: str, seq: int, *, ref: str | None = None, by: str = "m1", text_: str | None = None
) -> PendingEvent:
    event = Event(seq=seq, ts=T0 + seq, by=by, op=Chat(text=text_ if text_ is not None else f"message {seq}"))
    return PendingEvent(room_id=room_id, event=event, ref=ref, body=_encoder.encode(event))


async def new_room(store: Store, room_id: str = "r1", epoch: str = "e1") -> RoomRecord:
    record = RoomRecord(id=room_id, epoch=epoch, created_at=T0)
    first = Event(seq=1, ts=T0, by="", op=RoomCreate(name="Weekend", owner="m1", owner_name="Olga"))
    await store.create_room(record, PendingEvent(room_id=room_id, event=first, ref=None, body=_encoder.encode(first)))
    return record


def chat_texts(state: RoomState) -> list[str]:
    return [m.text for m in state.chat]


# ---- rooms and the log -----------------------------------------------------------------


async def test_create_and_load_room(store: SqlStore) -> None:
    record = await new_room(store)
    loaded = await store.load_room("r1", history=100, idempotency=100)
    assert loaded is not None
    assert loaded.record == record
    assert loaded.head == 1
    assert loaded.state.name == "Weekend"
    assert [e.seq for e in loaded.history] == [1]
    assert loaded.refs == []
    assert await store.load_room("nope", history=10, idempotency=10) is None


async def test_create_room_twice_fails(store: SqlStore) -> None:
    await new_room(store)
    with pytest.raises(Exception):  # noqa: B017 - an integrity error of the driver in use
        await new_room(store)
    assert await store.head("r1") == 1


async def test_append_batches_and_skip_duplicates(store: SqlStore) -> None:
    await new_room(store)
    await store.append([pending("r1", s, ref=f"ref{s}") for s in range(2, 6)], [])
    # a retried batch overlapping what is there: present seqs are skipped, the rest lands
    await store.append([pending("r1", s, text_="DUPLICATE") for s in range(4, 8)], [])
    await store.append([], [])
    loaded = await store.load_room("r1", history=100, idempotency=100)
    assert loaded is not None
    assert loaded.head == 7
    assert chat_texts(loaded.state) == [f"message {s}" for s in range(2, 6)] + ["DUPLICATE", "DUPLICATE"]
    assert [e.seq for e in loaded.history] == list(range(1, 8))
    assert loaded.refs == [("m1", f"ref{s}", s) for s in range(2, 6)]


async def test_append_is_one_transaction(store: SqlStore) -> None:
    await new_room(store)
    # the third row breaks NOT NULL: nothing of the batch, snapshot included, may land
    broken = PendingEvent(room_id="r1", event=pending("r1", 4).event, ref=None, body=None)  # type: ignore[arg-type]
    with pytest.raises(Exception):  # noqa: B017 - an integrity error of the driver in use
        await store.append([pending("r1", 2), pending("r1", 3), broken], [SnapshotWrite("r1", 3, b"s")])
    assert await store.head("r1") == 1
    loaded = await store.load_room("r1", history=10, idempotency=10)
    assert loaded is not None and loaded.head == 1 and loaded.state.name == "Weekend"
    await store.append([pending("r1", 2)], [])  # and the store still works
    assert await store.head("r1") == 2


async def test_many_rooms_in_one_batch(store: SqlStore) -> None:
    for i in range(3):
        await new_room(store, f"r{i}")
    await store.append([pending(f"r{i}", s) for s in range(2, 50) for i in range(3)], [])
    for i in range(3):
        assert await store.head(f"r{i}") == 49


async def test_load_room_windows(store: SqlStore) -> None:
    await new_room(store)
    await store.append([pending("r1", s, ref=f"ref{s}" if s % 2 else None) for s in range(2, 31)], [])
    loaded = await store.load_room("r1", history=5, idempotency=10)
    assert loaded is not None
    assert loaded.head == 30
    assert [e.seq for e in loaded.history] == [26, 27, 28, 29, 30]
    assert loaded.refs == [("m1", f"ref{s}", s) for s in (21, 23, 25, 27, 29)]
    assert len(loaded.state.chat) == 29


async def test_load_room_from_snapshot_and_tail(store: SqlStore) -> None:
    await new_room(store)
    await store.append([pending("r1", s) for s in range(2, 21)], [])
    # a snapshot at seq 10, marked so we can tell that loading started from it
    state = RoomState()
    for event in await store.events_after("r1", 0, 10):
        apply(state, event)
    assert state.seq == 10
    state.name = "from the snapshot"
    await store.append([], [SnapshotWrite(room_id="r1", seq=10, state=_encoder.encode(state))])
    loaded = await store.load_room("r1", history=3, idempotency=3)
    assert loaded is not None
    assert loaded.state.name == "from the snapshot"
    assert loaded.head == loaded.state.seq == 20
    assert chat_texts(loaded.state) == [f"message {s}" for s in range(2, 21)]
    assert [e.seq for e in loaded.history] == [18, 19, 20]


async def test_snapshots_only_move_forward(store: SqlStore) -> None:
    await new_room(store)
    await store.append([pending("r1", s) for s in range(2, 11)], [])

    def snap(seq: int, name: str) -> SnapshotWrite:
        return SnapshotWrite(room_id="r1", seq=seq, state=_encoder.encode(RoomState(seq=seq, name=name)))

    await store.append([], [snap(5, "five")])
    await store.append([], [snap(3, "three")])  # older: ignored
    await store.append([], [snap(5, "five again")])  # same seq: ignored
    loaded = await store.load_room("r1", history=0, idempotency=0)
    assert loaded is not None and loaded.state.name == "five"
    await store.append([], [snap(8, "eight"), snap(7, "seven")])  # several in one batch: the newest wins
    loaded = await store.load_room("r1", history=0, idempotency=0)
    assert loaded is not None and loaded.state.name == "eight"
    assert loaded.head == 10


async def test_epoch_get_and_set(store: SqlStore) -> None:
    assert await store.room_epoch("r1") is None
    await new_room(store, epoch="first")
    assert await store.room_epoch("r1") == "first"
    await store.set_room_epoch("r1", "second")
    assert await store.room_epoch("r1") == "second"
    loaded = await store.load_room("r1", history=1, idempotency=1)
    assert loaded is not None and loaded.record.epoch == "second"
    with pytest.raises(LookupError):
        await store.set_room_epoch("nope", "x")


async def test_head(store: SqlStore) -> None:
    assert await store.head("r1") == 0
    await new_room(store)
    assert await store.head("r1") == 1
    await store.append([pending("r1", 5)], [])  # a hole: head is the highest seq there is
    assert await store.head("r1") == 5
    assert await store.head("other") == 0


async def test_events_after(store: SqlStore) -> None:
    await new_room(store)
    await store.append([pending("r1", s) for s in range(2, 21)], [])
    await new_room(store, "r2")
    await store.append([pending("r2", s) for s in range(2, 5)], [])
    after = await store.events_after("r1", 5, 4)
    assert [e.seq for e in after] == [6, 7, 8, 9]
    assert isinstance(after[0].op, Chat) and after[0].op.text == "message 6"
    assert [e.seq for e in await store.events_after("r1", 18, 100)] == [19, 20]
    assert await store.events_after("r1", 20, 100) == []
    assert [e.seq for e in await store.events_after("r1", 0, 2)] == [1, 2]
    assert await store.events_after("nope", 0, 10) == []
    await store.append([pending("r1", 23)], [])  # holes are returned as holes
    assert [e.seq for e in await store.events_after("r1", 19, 10)] == [20, 23]


async def test_missing_seqs(store: SqlStore) -> None:
    await new_room(store)
    await store.append([pending("r1", s) for s in range(2, 11) if s not in (4, 7)], [])
    assert await store.missing_seqs("r1", [1, 2, 3, 4, 5, 6, 7, 8]) == [4, 7]
    assert await store.missing_seqs("r1", [12, 4, 4, 11]) == [4, 11, 12]
    assert await store.missing_seqs("r1", []) == []
    assert await store.missing_seqs("nope", [1, 2]) == [1, 2]
    # more than one chunk of bound parameters
    many = list(range(1, 2001))
    assert await store.missing_seqs("r1", many) == [4, 7, *range(11, 2001)]


async def test_concurrent_appends_and_reads(store: SqlStore) -> None:
    await new_room(store)

    async def writer(start: int) -> None:
        for s in range(start, start + 50, 5):
            await store.append([pending("r1", x) for x in range(s, s + 5)], [])

    async def reader() -> None:
        for _ in range(20):
            loaded = await store.load_room("r1", history=10, idempotency=10)
            assert loaded is not None
            assert all(e.seq <= loaded.head for e in loaded.history)

    await asyncio.gather(writer(2), writer(52), writer(102), reader(), reader())
    assert await store.head("r1") == 151
    assert await store.missing_seqs("r1", list(range(1, 152))) == []


# ---- invites -----------------------------------------------------------------------------


def invite(code: str = "inv1", *, expires_at: int | None = None, max_uses: int | None = None) -> Invite:
    return Invite(
        code=code,
        room_id="r1",
        role="member",
        created_by="m1",
        created_at=T0,
        expires_at=expires_at,
        max_uses=max_uses,
        uses=0,
    )


async def test_invites(store: SqlStore) -> None:
    await new_room(store)
    await store.create_invite(invite(expires_at=T0 + 1000))
    assert await store.get_invite("inv1") == invite(expires_at=T0 + 1000)
    assert await store.get_invite("nope") is None
    used = await store.use_invite("inv1", T0 + 999)
    assert used.room_id == "r1" and used.uses == 1
    with pytest.raises(InviteError) as err:
        await store.use_invite("inv1", T0 + 1000)
    assert err.value.code == "invite_expired"
    with pytest.raises(InviteError) as err:
        await store.use_invite("nope", T0)
    assert err.value.code == "invite_not_found"
    got = await store.get_invite("inv1")
    assert got is not None and got.uses == 1


async def test_invite_max_uses(store: SqlStore) -> None:
    await new_room(store)
    await store.create_invite(invite("twice", max_uses=2))
    await store.create_invite(invite("forever"))
    assert (await store.use_invite("twice", T0)).uses == 1
    assert (await store.use_invite("twice", T0)).uses == 2
    with pytest.raises(InviteError) as err:
        await store.use_invite("twice", T0)
    assert err.value.code == "invite_used_up"
    for _ in range(5):
        await store.use_invite("forever", T0)
    got = await store.get_invite("forever")
    assert got is not None and got.uses == 5


async def test_concurrent_use_of_a_single_use_invite(store: SqlStore) -> None:
    await new_room(store)
    await store.create_invite(invite("once", max_uses=1))
    results = await asyncio.gather(*(store.use_invite("once", T0) for _ in range(10)), return_exceptions=True)
    winners = [r for r in results if isinstance(r, Invite)]
    losers = [r for r in results if isinstance(r, InviteError)]
    assert len(winners) == 1 and len(losers) == 9, results
    assert {e.code for e in losers} == {"invite_used_up"}
    got = await store.get_invite("once")
    assert got is not None and got.uses == 1


async def test_concurrent_use_from_two_stores(store_url: str) -> None:
    """Two nodes (two engines, two pools) racing for the last use of an invite."""
    a, b = SqlStore(store_url), SqlStore(store_url)
    await asyncio.gather(a.start(), b.start())  # concurrent migrations too
    try:
        await new_room(a)
        await a.create_invite(invite("once", max_uses=1))
        results = await asyncio.gather(
            *(s.use_invite("once", T0) for s in (a, b) for _ in range(5)), return_exceptions=True
        )
        assert sum(isinstance(r, Invite) for r in results) == 1, results
        assert sum(isinstance(r, InviteError) for r in results) == 9, results
    finally:
        await a.close()
        await b.close()


# ---- migrations and connections --------------------------------------------------------


async def test_migrations_are_idempotent(store_url: str) -> None:
    for _ in range(2):
        s = SqlStore(store_url)
        await s.start()
        await s.start()
        await s.close()
    s = SqlStore(store_url)
    await s.start()
    try:
        await new_room(s)
        async with s._engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
            assert [v for (v,) in versions] == [head_revision()]
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            assert {"rooms", "events", "snapshots", "invites", "alembic_version"} <= tables
    finally:
        await s.close()


async def test_the_models_match_the_migrations(store: SqlStore) -> None:
    def diff(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, target_metadata()))

    async with store._engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_a_database_made_before_migrations_is_adopted(tmp_path: Path) -> None:
    """SQLite files created by ``create_all`` (before Alembic) are stamped, not re-created."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = SqlStore(url)
    async with old._engine.begin() as conn:  # the tables of 0001, as create_all made them
        await conn.run_sync(
            SQLModel.metadata.create_all,
            tables=[
                t for t in target_metadata().sorted_tables if t.name in ("rooms", "events", "snapshots", "invites")
            ],
        )
    await new_room(old)
    await old.close()
    s = SqlStore(url)
    await s.start()
    try:
        assert await s.head("r1") == 1
        async with s._engine.connect() as conn:
            assert await conn.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
    finally:
        await s.close()


async def test_ping(store: SqlStore) -> None:
    await store.ping()


def test_url_mapping() -> None:
    assert driver_url("sqlite:///x.db").drivername == "sqlite+aiosqlite"
    assert driver_url("sqlite+aiosqlite:///x.db").database == "x.db"
    assert driver_url("sqlite:////abs/x.db").database == "/abs/x.db"
    assert driver_url("postgresql://u:p@h:5/db").drivername == "postgresql+asyncpg"
    assert driver_url("postgres://u@h/db").drivername == "postgresql+asyncpg"
    pg = driver_url("postgresql+asyncpg://u:secret@h:5432/db")
    assert (pg.username, pg.password, pg.host, pg.port, pg.database) == ("u", "secret", "h", 5432, "db")
    with pytest.raises(ValueError):
        driver_url("mysql://u@h/db")
    with pytest.raises(ValueError):
        SqlStore("sqlite:///x.db", sqlite_synchronous="SOMETIMES")


async def test_in_memory_sqlite() -> None:
    s = SqlStore("sqlite:///:memory:")
    await s.start()
    try:
        await new_room(s)
        await asyncio.gather(
            s.append([pending("r1", x) for x in range(2, 10)], []),
            s.load_room("r1", history=5, idempotency=5),
            s.head("r1"),
        )
        assert await s.head("r1") == 9
    finally:
        await s.close()


async def test_sqlite_synchronous_mode_is_applied(tmp_path: Path) -> None:
    for mode, value in (("FULL", 2), ("NORMAL", 1)):
        s = SqlStore(f"sqlite:///{tmp_path / mode}.db", sqlite_synchronous=mode)
        await s.start()
        try:
            async with s._engine.connect() as conn:
                assert await conn.scalar(text("PRAGMA synchronous")) == value
                assert await conn.scalar(text("PRAGMA journal_mode")) == "wal"
        finally:
            await s.close()


# ---- poll deadlines (SPEC 17.5) ----------------------------------------------------------


async def test_poll_deadline_rows_are_written_with_the_event_and_leased_once(store: SqlStore, store_url: str) -> None:
    from cosession.polls.deadlines import DeadlineStore
    from protocol.messages import PollCreate, PollOption, Product

    await new_room(store)
    product = Product(id="p", name="P", price=1, currency="EUR")
    options = [PollOption(product=product), PollOption(product=product, label="again")]
    create = Event(
        seq=2, ts=T0, by="m1", op=PollCreate(question="Q", options=options, deadline=T0 + 5000, outcome="post_result")
    )
    item = PendingEvent(room_id="r1", event=create, ref="p1", body=_encoder.encode(create))
    woken: list[int] = []
    store.on_poll_deadline = woken.append
    await store.append([item], [])
    await store.append([item], [])  # a duplicate commit: still one row
    deadlines = DeadlineStore(store)
    assert await deadlines.pending("r1") == [2] and woken[0] == T0 + 5000
    assert await deadlines.next_due() == T0 + 5000
    assert await deadlines.claim("a", T0 + 4999, 1000, 10) == []  # not due yet
    other = SqlStore(store_url, sqlite_synchronous="NORMAL")  # a second node on the same database
    try:
        first, second = await asyncio.gather(
            deadlines.claim("a", T0 + 5000, 1000, 10), DeadlineStore(other).claim("b", T0 + 5000, 1000, 10)
        )
        assert sorted([len(first), len(second)]) == [0, 1]  # exactly one node holds it
        assert await deadlines.next_due() == T0 + 6000  # claimable again when the lease ends
        assert await DeadlineStore(other).claim("b", T0 + 5500, 1000, 10) == []
        again = await DeadlineStore(other).claim("b", T0 + 6001, 1000, 10)  # the holder died: lease expired
        assert [(d.room_id, d.poll, d.deadline) for d in again] == [("r1", 2, T0 + 5000)]
    finally:
        await other.close()
    await deadlines.done("r1", 2)
    assert await deadlines.pending("r1") == [] and await deadlines.next_due() is None


# ---- read cursors (SPEC 15, cosession/cursors) ------------------------------------------


async def test_read_cursors_only_move_forward_and_count_the_stored_tail(store: SqlStore) -> None:
    from cosession.cursors.store import CursorStore
    from protocol.messages import CartAdd, Product, Unread

    cursors = CursorStore(store)
    assert await cursors.get("r1", "m1") == 0
    await cursors.advance({("r1", "m1"): 5, ("r1", "m2"): 2**53, ("r2", "m1"): 1})
    await cursors.advance({("r1", "m1"): 3})  # never backwards
    assert (await cursors.get("r1", "m1"), await cursors.get("r1", "m2"), await cursors.get("r2", "m1")) == (
        5,
        2**53,
        1,
    )
    await cursors.advance({("r1", "m1"): 9})
    assert await cursors.get("r1", "m1") == 9

    await new_room(store)
    bag = Product(id="bag", name="Bag", price=T0, currency="EUR")
    rows = [pending("r1", seq, by="m2" if seq % 2 else "m1") for seq in range(2, 12)]
    add = Event(seq=12, ts=T0, by="", op=CartAdd(product=bag))
    rows.append(PendingEvent(room_id="r1", event=add, ref=None, body=_encoder.encode(add)))
    await store.append(rows, [])
    assert await cursors.count_tail("r1", 1, 12, "m1", 1000) == Unread(messages=5, cart=1)
    assert await cursors.count_tail("r1", 5, 11, "m1", 1000) == Unread(messages=3)
    assert await cursors.count_tail("r1", 1, 12, "m1", 2) == Unread(messages=1, cart=1)  # the newest 2 only
    assert await cursors.count_tail("r1", 12, 12, "m1", 10) == Unread()
    await cursors.forget_room("r1")
    assert await cursors.get("r1", "m1") == 0
