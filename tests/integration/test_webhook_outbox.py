"""The webhook outbox against real SQLite and PostgreSQL: rows commit with their events
(or not at all), duplicates never enqueue twice, and leases give each due row to one
node at a time, in room order, with a dead node's leases taken over after expiry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select, text

from cosession.store.store import PendingEvent, RoomRecord
from cosession.store.store_sql import SqlStore
from cosession.webhooks.events import message_id
from cosession.webhooks.models import WebhookOutboxRow
from cosession.webhooks.store import Endpoint, WebhookStore
from protocol.messages import Chat, Event, MemberJoin, RoomCreate

OUTBOX = WebhookOutboxRow.__table__  # type: ignore[attr-defined]
_encoder = msgspec.msgpack.Encoder()
T0 = 1_700_000_000_000


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


def pending(room: str, seq: int, op: Any) -> PendingEvent:
    event = Event(seq=seq, ts=T0 + seq, by="", op=op)
    return PendingEvent(room_id=room, event=event, ref=None, body=_encoder.encode(event))


def join(room: str, seq: int, member: str = "m2") -> PendingEvent:
    return pending(room, seq, MemberJoin(member=member, name="Ana", role="member"))


async def new_room(store: SqlStore, room: str, tenant: str | None) -> None:
    first = pending(room, 1, RoomCreate(name="Weekend", owner="m1", owner_name="Olga"))
    await store.create_room(RoomRecord(id=room, epoch="e1", created_at=T0, tenant=tenant), first)


async def add_endpoint(hooks: WebhookStore, ep: str, tenant: str = "t1", **kw: Any) -> None:
    fields: dict[str, Any] = {
        "id": ep,
        "tenant": tenant,
        "url": "http://127.0.0.1:9/hook",
        "secret": "whsec_AAAA",
        "event_types": (),
        "description": "",
        "enabled": True,
        "created_at": T0,
        **kw,
    }
    await hooks.create_endpoint(Endpoint(**fields))


async def rows(store: SqlStore) -> list[tuple[str, str, str]]:
    async with store.reader() as conn:
        result = await conn.execute(select(OUTBOX.c.endpoint_id, OUTBOX.c.type, OUTBOX.c.msg_id).order_by(OUTBOX.c.id))
        return [(e, t, m) for e, t, m in result]


async def test_outbox_rows_are_written_with_the_events_that_cause_them(store: SqlStore) -> None:
    hooks = WebhookStore(store)
    await add_endpoint(hooks, "ep_all")
    await add_endpoint(hooks, "ep_joins", event_types=("member.joined",))
    await add_endpoint(hooks, "ep_off", enabled=False)
    await add_endpoint(hooks, "ep_other", tenant="t2")
    await new_room(store, "r1", "t1")
    await new_room(store, "r_none", None)  # no tenant: nothing
    assert await store.append([join("r1", 2), pending("r1", 3, Chat(text="hi")), join("r_none", 2)], []) == []
    got = await rows(store)
    created, joined = message_id("r1", "e1", 1, "room.created"), message_id("r1", "e1", 2, "member.joined")
    assert sorted(got) == sorted(
        [
            ("ep_all", "room.created", created),
            ("ep_all", "member.joined", joined),
            ("ep_joins", "member.joined", joined),
        ]
    )
    # the same event committed again (a retried batch, the cluster archiver): no new row
    await store.append([join("r1", 2)], [])
    assert len(await rows(store)) == 3


async def test_a_refused_commit_leaves_neither_the_event_nor_its_outbox_row(store: SqlStore) -> None:
    hooks = WebhookStore(store)
    await add_endpoint(hooks, "ep_all")
    await new_room(store, "r1", "t1")
    async with store.transaction() as conn:
        if store.is_sqlite:
            await conn.execute(
                text("CREATE TRIGGER refuse BEFORE INSERT ON webhook_outbox BEGIN SELECT RAISE(ABORT, 'no'); END")
            )
        else:  # refused by COMMIT itself, after both inserts ran
            await conn.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused at commit'; END"
                    " $$ LANGUAGE plpgsql"
                )
            )
            await conn.execute(
                text(
                    "CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON webhook_outbox"
                    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse()"
                )
            )
    with pytest.raises(Exception, match=r"no|refused"):
        await store.append([join("r1", 2)], [])
    assert await store.head("r1") == 1  # the event is not in the log
    assert [t for _, t, _ in await rows(store)] == ["room.created"]  # and no member.joined row
    # a batch without webhook rows still commits
    await store.append([pending("r1", 2, Chat(text="hi"))], [])
    assert await store.head("r1") == 2


async def test_leases_give_each_due_row_to_one_node_in_room_order(store_url: str, store: SqlStore) -> None:
    hooks = WebhookStore(store)
    await add_endpoint(hooks, "ep_all")
    for i in range(10):
        await new_room(store, f"r{i}", "t1")
        await store.append([join(f"r{i}", 2)], [])
    other = SqlStore(store_url, sqlite_synchronous="NORMAL")  # a second node
    await other.start()
    try:
        hooks_b = WebhookStore(other)
        now = T0 * 2
        a, b = await asyncio.gather(hooks.claim("A", now, 60_000, 50), hooks_b.claim("B", now, 60_000, 50))
        ids_a, ids_b = {c.msg_id for c in a}, {c.msg_id for c in b}
        assert not ids_a & ids_b
        # only the first message of each room is due: room.created; member.joined waits for it
        assert len(ids_a | ids_b) == 10
        assert {c.body.count(b"room.created") for c in a + b} == {1}
        assert await hooks.claim("A", now, 60_000, 50) == []  # all leased, the rest blocked
        # A settles its rows; B "dies" holding its leases
        for c in a:
            await hooks.record(c, node="A", at=now, ok=True, code=204, error="", duration_ms=1, next_attempt_at=None)
        nexts = await hooks.claim("A", now + 1, 60_000, 50)
        assert len(nexts) == len(a) and all(b"member.joined" in c.body for c in nexts)
        # after B's leases expire, A takes B's rooms over
        later = await hooks.claim("A", now + 60_001, 60_000, 50)
        assert {c.msg_id for c in later} == ids_b
        # a node that stops releases its leases: they can be taken at once
        await hooks.release_leases("A")
        taken = {c.msg_id for c in await hooks.claim("C", now + 60_002, 60_000, 50)}
        assert taken == ids_b | {c.msg_id for c in nexts}
        # B's late result is not applied over another node's lease (only logged)
        for c in b:
            await hooks_b.record(c, node="B", at=now, ok=True, code=204, error="", duration_ms=1, next_attempt_at=None)
        async with store.reader() as conn:
            delivered = await conn.scalar(select(func.count()).where(OUTBOX.c.status == "delivered"))
        assert delivered == len(a)
        assert await hooks.claim("A", now + 60_003, 60_000, 50) == []  # C holds them
    finally:
        await other.close()


async def test_redelivery_and_purge(store: SqlStore) -> None:
    hooks = WebhookStore(store)
    await add_endpoint(hooks, "ep_all")
    await new_room(store, "r1", "t1")
    await store.append([join("r1", 2)], [])
    now = T0 * 2
    [first] = await hooks.claim("A", now, 60_000, 10)
    # a pending message being sent keeps its lease when redelivery is asked for
    assert await hooks.redeliver("ep_all", first.msg_id, now)
    assert await hooks.claim("B", now + 1, 60_000, 10) == []
    await hooks.record(first, node="A", at=now, ok=False, code=500, error="", duration_ms=1, next_attempt_at=None)
    # dead now: redelivery restarts it under the same id
    assert await hooks.redeliver("ep_all", first.msg_id, now + 2)
    [again] = await hooks.claim("B", now + 2, 60_000, 10)
    assert (again.msg_id, again.attempts) == (first.msg_id, 0)
    await hooks.record(again, node="B", at=now, ok=True, code=200, error="", duration_ms=1, next_attempt_at=None)
    assert not await hooks.redeliver("ep_all", "msg_nope", now)
    assert [a.ok for a in await hooks.attempts("ep_all", first.msg_id)] == [False, True]
    # purge forgets settled messages and old attempts, never pending ones
    assert await hooks.purge(before=now * 2) == 1
    remaining = await rows(store)
    assert [t for _, t, _ in remaining] == ["member.joined"]  # pending behind the purged room.created
    assert await hooks.attempts("ep_all", first.msg_id) == []
