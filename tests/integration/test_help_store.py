"""The help queue's SQL on both backends (SQLite and PostgreSQL): a help.request event
writes one queue row (twice committed, still one), concurrent claims have exactly one
winner, change ids come in order, escalation leases are exclusive, and the figures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from cosession.help.context import HelpContext, Money, encode_context
from cosession.help.figures import stats_for
from cosession.help.queue_store import Associate, HelpStore, now_ms
from cosession.store.store import PendingEvent, RoomRecord
from cosession.store.store_sql import SqlStore
from protocol.messages import Chat, Event, HelpRequest, RoomCreate

_encoder = msgspec.msgpack.Encoder()


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


def _event(room: str, seq: int, by: str, op: object, context: bytes | None = None) -> PendingEvent:
    event = Event(seq=seq, ts=now_ms(), by=by, op=op)  # type: ignore[arg-type]
    return PendingEvent(room_id=room, event=event, ref=None, body=_encoder.encode(event), context=context)


async def _room(store: SqlStore, room: str, tenant: str | None = "t1") -> None:
    first = _event(room, 1, "", RoomCreate(name="Shoes", owner="m1", owner_name="Olga"))
    await store.create_room(RoomRecord(id=room, epoch="e", created_at=now_ms(), tenant=tenant), first)


def _associate(name: str) -> Associate:
    return Associate(id=f"as_{name.lower()}", tenant="t1", name=name, stores=[], created_at=now_ms(), revoked=False)


async def test_requests_claims_changes_and_figures(store: SqlStore) -> None:
    help_store = HelpStore(store)
    await _room(store, "r1")
    await _room(store, "r_free", tenant=None)  # no tenant: no queue row
    ctx = encode_context(HelpContext(room_name="Shoes", cart_lines=2, cart_total=Money(amount=100, currency="EUR")))
    ask = _event("r1", 2, "m1", HelpRequest(where="in_store", department="Shoes"), ctx)
    assert await store.append([ask], []) == []
    await store.append([ask], [])  # the archiver writing the same event again: still one row
    await store.append([_event("r_free", 2, "m1", HelpRequest())], [])
    rows, cursor = await help_store.queue("t1", 100)
    assert [(r.room_id, r.seq, r.department, r.state) for r in rows] == [("r1", 2, "Shoes", "open")]
    assert cursor > 0 and (await help_store.queue("other", 100))[0] == []

    mia, leo = _associate("Mia"), _associate("Leo")
    outcomes = await asyncio.gather(*(help_store.claim("t1", "r1", 2, a) for a in (mia, leo, mia, leo)))
    kinds = sorted(o for o, _ in outcomes)
    assert kinds.count("ok") == 1 and set(kinds) <= {"ok", "again", "taken"}, kinds
    winner = next(row for o, row in outcomes if o == "ok")
    assert winner is not None and winner.state == "claimed"
    assert (await help_store.claim("t1", "r1", 9, mia))[0] == "missing"

    changes = await help_store.changes_after("t1", 0, 100)
    assert [kind for _, kind, _ in changes] == ["request", "update"]
    assert [c[0] for c in changes] == sorted(c[0] for c in changes)

    # the winner's first chat in the room is its first answer; others' chats are not
    who = winner.associate
    await store.append([_event("r1", 3, "m1", Chat(text="hello?")), _event("r1", 4, who, Chat(text="On my way"))], [])
    other = "as_leo" if who == "as_mia" else "as_mia"
    assert (await help_store.close("t1", "r1", 2, other))[0] == "not_yours"
    assert (await help_store.close("t1", "r1", 2, who))[0] == "ok"
    assert (await help_store.close("t1", "r1", 2, None))[0] == "closed"
    figures = stats_for("t1", 0, await help_store.rows_for_stats("t1", 0))
    assert (figures.total.requests, figures.total.claimed, figures.total.answered) == (1, 1, 1)
    assert figures.by_place[0].department == "Shoes" and figures.by_associate[0].associate == who
    assert "m1" not in msgspec.json.encode(figures).decode()


async def test_escalation_leases_are_exclusive(store: SqlStore) -> None:
    store.help_escalate_ms = 0  # due at once
    help_store = HelpStore(store)
    await _room(store, "r1")
    await store.append([_event("r1", 2, "m1", HelpRequest())], [])
    first, second = await asyncio.gather(
        help_store.take_due("node-a", 30_000, 10, 3), help_store.take_due("node-b", 30_000, 10, 3)
    )
    assert sorted([len(first), len(second)]) == [0, 1]
    [row] = first or second
    assert await help_store.escalated(row, 1, now_ms() + 60_000, row.lease_owner)
    assert not await help_store.escalated(row, 1, now_ms() + 60_000, row.lease_owner)  # once per level
    rows, _ = await help_store.queue("t1", 10)
    assert rows[0].level == 1 and rows[0].lease_until == 0
    assert await help_store.take_due("node-a", 30_000, 10, 3) == []  # next deadline not reached
