"""Room summaries of one tenant over a window of whole UTC days: a bounded SQL scan.

Rooms are picked by creation time (``rooms.created_at`` in the window, newest first, at
most ``max_rooms``), and only their events *inside* the window count, so a window that
has ended gives the same answer every time it is asked. Events are decoded untyped and
reduced room by room (``cosession/trends/summary.py``): memory holds the events of
one batch of ``ROOM_BATCH`` rooms.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from cosession.tenants.store import engine_of
from cosession.trends.aggregate import Trends, aggregate
from cosession.trends.summary import RoomSummary, summarize

ROOMS = sa.table("rooms", sa.column("id", sa.String), sa.column("tenant", sa.String), sa.column("created_at"))
EVENTS = sa.table(
    "events", sa.column("room_id", sa.String), sa.column("seq"), sa.column("ts"), sa.column("body", sa.LargeBinary)
)
FOCUS = sa.table("room_focus", sa.column("room_id", sa.String), sa.column("product", sa.String), sa.column("first_ts"))
ROOM_BATCH = 200
MAX_WINDOW_DAYS = 366
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Window:
    first: dt.date  # inclusive, UTC
    last: dt.date  # inclusive, UTC

    @property
    def since_ms(self) -> int:
        return _day_ms(self.first)

    @property
    def until_ms(self) -> int:
        return _day_ms(self.last) + DAY_MS

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def _day_ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)


def window(first: str | None, last: str | None, *, today: dt.date, default_days: int = 30) -> Window:
    """The window from ISO dates (``YYYY-MM-DD``, both inclusive); ValueError when bad."""
    end = dt.date.fromisoformat(last) if last else today
    start = dt.date.fromisoformat(first) if first else end - dt.timedelta(days=default_days - 1)
    if start > end:
        raise ValueError("from is after to")
    if (end - start).days + 1 > MAX_WINDOW_DAYS:
        raise ValueError(f"a window is at most {MAX_WINDOW_DAYS} days")
    return Window(start, end)


def _decoded(body: bytes) -> Mapping[str, Any] | None:
    try:
        event = msgspec.msgpack.decode(body)
    except msgspec.DecodeError:
        return None
    return event if isinstance(event, Mapping) else None


async def room_summaries(
    engine: AsyncEngine, tenant: str, win: Window, *, max_rooms: int
) -> tuple[list[RoomSummary], bool]:
    """Summaries of ``tenant``'s rooms created in ``win``, and whether ``max_rooms`` cut the scan."""
    out: list[RoomSummary] = []
    async with engine.connect() as conn:
        ids = list(
            (
                await conn.execute(
                    sa.select(ROOMS.c.id)
                    .where(
                        ROOMS.c.tenant == tenant,
                        ROOMS.c.created_at >= win.since_ms,
                        ROOMS.c.created_at < win.until_ms,
                    )
                    .order_by(ROOMS.c.created_at.desc(), ROOMS.c.id)
                    .limit(max_rooms + 1)
                )
            ).scalars()
        )
        truncated = len(ids) > max_rooms
        ids = ids[:max_rooms]
        for start in range(0, len(ids), ROOM_BATCH):
            chunk = ids[start : start + ROOM_BATCH]
            viewed: dict[str, list[str]] = {}
            focused = sa.select(FOCUS.c.room_id, FOCUS.c.product).where(
                FOCUS.c.room_id.in_(chunk), FOCUS.c.first_ts < win.until_ms
            )
            for room_id, product in (await conn.execute(focused)).all():
                viewed.setdefault(room_id, []).append(product)
            query = (
                sa.select(EVENTS.c.room_id, EVENTS.c.body)
                .where(EVENTS.c.room_id.in_(chunk), EVENTS.c.ts < win.until_ms)
                .order_by(EVENTS.c.room_id, EVENTS.c.seq)
            )
            current: str | None = None
            events: list[Mapping[str, Any]] = []
            for room_id, body in (await conn.execute(query)).all():
                if room_id != current:
                    if current is not None:
                        out.append(summarize(events, viewed.get(current, ())))
                    current, events = room_id, []
                event = _decoded(body)
                if event is not None:
                    events.append(event)
            if current is not None:
                out.append(summarize(events, viewed.get(current, ())))
    return out, truncated


async def tenant_trends(
    store: object, tenant: str, win: Window, *, k: int, limit: int, max_rooms: int
) -> tuple[Trends, bool]:
    """``tenant``'s trends over ``win`` from ``store``'s database (the REST endpoint and
    ``cosession report`` both call this), and whether ``max_rooms`` cut the scan."""
    engine = engine_of(store)
    if not isinstance(engine, AsyncEngine):  # pragma: no cover - SqlStore's engine is async
        raise TypeError("trends need the store's async engine")
    summaries, truncated = await room_summaries(engine, tenant, win, max_rooms=max_rooms)
    return aggregate(summaries, k, limit), truncated
