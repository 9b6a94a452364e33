"""The notification tables (cosession/notify) on SQLite and PostgreSQL: notify targets
written in the event's transaction, the quiet window, mute, subscriptions and the cap,
the digest sweep (one sweeper wins when two race), push leases and a 410's removal."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import msgspec
import pytest
from sqlalchemy import func, select

from cosession.notify.store import NotifyStore, Subscription
from cosession.notify.writer import MEMBERS, PUSH
from cosession.store.store import PendingEvent
from cosession.store.store_sql import SqlStore
from cosession.webhooks.models import WebhookOutboxRow
from protocol.messages import Event, Vote
from tests.integration.test_store_conformance import T0, new_room, store_url  # noqa: F401 - fixture

OUTBOX = WebhookOutboxRow.__table__  # type: ignore[attr-defined]
QUIET = 60_000
_encoder = msgspec.msgpack.Encoder()


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[SqlStore]:  # noqa: F811 - uses the imported fixture
    s = SqlStore(store_url, sqlite_synchronous="NORMAL")
    s.notify_quiet_ms = QUIET
    await s.start()
    try:
        yield s
    finally:
        await s.close()


def voted(seq: int, member: str = "ana") -> PendingEvent:
    event = Event(seq=seq, ts=T0 + seq, by="bea", op=Vote(line=2, value="up"))
    return PendingEvent(room_id="r1", event=event, ref=None, body=_encoder.encode(event), notify=((member, "vote"),))


async def pushes(store: SqlStore) -> list[dict[str, object]]:
    async with store.reader() as conn:
        rows = await conn.execute(select(PUSH.c.msg_id, PUSH.c.body, PUSH.c.status).order_by(PUSH.c.id))
        return [{"msg": r.msg_id, "body": json.loads(r.body), "status": r.status} for r in rows]


async def test_quiet_window_mute_subscriptions_and_the_digest(store: SqlStore) -> None:
    await new_room(store)
    notify = NotifyStore(store)
    sub = Subscription("https://push.example/ana", "p" * 87, "a" * 22, "/r/abc")
    assert await notify.subscribe("r1", "ana", sub, T0, cap=1)
    assert await notify.subscribe("r1", "ana", sub, T0, cap=1)  # the same endpoint: refreshed, not added
    assert not await notify.subscribe("r1", "ana", Subscription("https://push.example/2", "p", "a"), T0, cap=1)
    assert await notify.subscriptions("r1", "ana") == 1

    await store.append([voted(2)], [])  # sent now: one push row
    await store.append([voted(3), voted(4)], [])  # inside the window: held back
    await store.append([voted(3)], [])  # the same event again: not counted twice
    rows = await pushes(store)
    assert [r["body"] for r in rows] == [
        {"t": "notification", "room": "r1", "reasons": {"vote": 1}, "count": 1, "digest": False, "url": "/r/abc"}
    ]
    assert await notify.send_due_digests(T0, QUIET) == (0, 0)  # the window has not ended (wall clock is later)
    future = 2**62
    assert await notify.send_due_digests(future, QUIET) == (0, 1)  # the room has no tenant: no webhook
    rows = await pushes(store)
    assert rows[-1]["body"] == {
        "t": "notification", "room": "r1", "reasons": {"vote": 2}, "count": 2, "digest": True, "url": "/r/abc"
    }  # fmt: skip
    assert await notify.send_due_digests(future, QUIET) == (0, 0)  # exactly one digest

    # muted: nothing is sent, what was held back is dropped
    await notify.set_muted("r1", "ana", True, T0)
    assert await notify.muted("r1", "ana")
    await store.append([voted(5)], [])
    assert len(await pushes(store)) == 2
    assert await notify.unsubscribe("r1", "ana", None) == 1
    assert await notify.subscriptions("r1", "ana") == 0
    # erasure (and a purged room) forget the member's settings, subscriptions and pushes
    await notify.subscribe("r1", "ana", sub, T0, cap=1)
    await notify.subscribe("r1", "bea", sub, T0, cap=1)
    await notify.forget("r1", "ana")
    assert (await notify.subscriptions("r1", "ana"), await notify.muted("r1", "ana")) == (0, False)
    assert await notify.subscriptions("r1", "bea") == 1
    await notify.forget("r1", None)
    assert await notify.subscriptions("r1", "bea") == 0


async def test_two_sweepers_send_one_digest_and_a_410_removes_the_subscription(
    store: SqlStore,
    store_url: str,  # noqa: F811
) -> None:
    await new_room(store)
    notify = NotifyStore(store)
    await notify.subscribe("r1", "ana", Subscription("https://push.example/ana", "p", "a"), T0, cap=5)
    await store.append([voted(2), voted(3)], [])  # one now, one held back
    other = SqlStore(store_url, sqlite_synchronous="NORMAL")  # a second node on the same database
    await other.start()
    try:
        results = await asyncio.gather(
            notify.send_due_digests(2**62, QUIET), NotifyStore(other).send_due_digests(2**62, QUIET)
        )
        assert sorted(results) == [(0, 0), (0, 1)]
        claimed = await notify.claim_pushes("n1", 2**62, 60_000, 10)
        assert len(claimed) == 2
        assert await NotifyStore(other).claim_pushes("n2", 2**62, 60_000, 10) == []  # leased
        await notify.settle_push(claimed[0], "n1", code=201, ok=True, gone=False, next_at=None)
        await notify.settle_push(claimed[1], "n1", code=410, ok=False, gone=True, next_at=None)
        assert await notify.subscriptions("r1", "ana") == 0
        assert [r["status"] for r in await pushes(store)] == ["delivered"]
    finally:
        await other.close()


async def test_a_notification_the_database_refuses_never_blocks_its_event(store: SqlStore) -> None:
    await new_room(store)
    if store.is_sqlite:
        pytest.skip("SQLite does not enforce column lengths: nothing to refuse")
    await store.append([voted(2, member="x" * 65)], [])  # notify_members.member is 64 chars at most
    assert await store.head("r1") == 2  # the event committed; its notification did not
    await store.append([voted(3)], [])  # and the next ones still notify
    async with store.reader() as conn:
        assert await conn.scalar(select(func.count()).select_from(MEMBERS)) == 1
