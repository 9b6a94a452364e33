"""The trends scan and the focus recorder on both databases (SQLite and PostgreSQL):
insert-if-absent focus rows, the window, the tenant filter, and the room cap."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cosession.store.store_sql import SqlStore
from cosession.trends.focus import FocusRecorder
from cosession.trends.source import Window, room_summaries
from tests.support.trend_rooms import RoomPlan, write_room

NOW = dt.datetime.now(dt.UTC)
DAY = NOW.date()  # focus rows are stamped with the real clock, so rooms are made today
NOON = int(NOW.timestamp() * 1000)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 's.db'}"
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


async def test_scan_window_tenant_cap_and_focus(store: SqlStore) -> None:
    inside = [await write_room(store, RoomPlan("t_a", NOON + i, products=["p1"], checkout=i == 0)) for i in range(3)]
    await write_room(store, RoomPlan("t_a", NOON - 86_400_000, products=["p-yesterday"]))
    await write_room(store, RoomPlan("t_b", NOON, products=["p-other"]))
    recorder = FocusRecorder(store, max_per_room=2)
    for room in inside:
        for product in ("p1", "p2", "p1", "p3"):  # repeats are one row; p3 is over the per-room cap
            recorder.seen(room, product)
    await recorder.flush()
    again = FocusRecorder(store)  # another node recording the same pair: harmless
    again.seen(inside[0], "p1")
    await again.flush()
    assert (recorder.written, recorder.dropped, again.written) == (6, 3, 1)

    summaries, truncated = await room_summaries(store.engine, "t_a", Window(DAY, DAY), max_rooms=10)
    assert not truncated and len(summaries) == 3
    assert all(s.added == {"p1"} and s.viewed == {"p1", "p2"} for s in summaries)
    assert sorted(s.converted for s in summaries) == [False, False, True]
    capped, truncated = await room_summaries(store.engine, "t_a", Window(DAY, DAY), max_rooms=2)
    assert truncated and len(capped) == 2
    earlier = Window(DAY - dt.timedelta(days=1), DAY - dt.timedelta(days=1))
    [yesterday] = (await room_summaries(store.engine, "t_a", earlier, max_rooms=10))[0]
    assert yesterday.added == {"p-yesterday"}
