"""The poll deadline rows: written with their ``poll.create``, leased when due, deleted
once closed.

``write_for_events`` runs inside every transaction that inserts log events
(``SqlStore._insert_events``: the group commit, the cluster archiver), so a stored poll
always has its deadline row, and a duplicate commit is insert-if-absent. ``claim`` leases
due rows to one node (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so nodes sweeping at once
skip each other's rows; SQLite has one writer, so its claim transaction is serial).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cosession.polls.models import PollDeadlineRow
from cosession.store.store import PendingEvent
from protocol.messages import PollCreate

if TYPE_CHECKING:
    from cosession.store.store_sql import SqlStore

DEADLINES = PollDeadlineRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Due:
    room_id: str
    poll: int
    deadline: int


def deadline_rows(events: Iterable[PendingEvent]) -> list[dict[str, Any]]:
    return [
        {"room_id": p.room_id, "poll": p.event.seq, "deadline": p.event.op.deadline, "lease_until": 0}
        for p in events
        if isinstance(p.event.op, PollCreate)
    ]


async def write_for_events(conn: AsyncConnection, insert: Any, events: Iterable[PendingEvent]) -> int | None:
    """Insert the deadline rows of the ``poll.create`` events; the earliest deadline
    written (None when there was none)."""
    rows = deadline_rows(events)
    if not rows:
        return None
    await conn.execute(insert(DEADLINES).on_conflict_do_nothing(index_elements=["room_id", "poll"]), rows)
    return min(int(r["deadline"]) for r in rows)


class DeadlineStore:
    def __init__(self, store: SqlStore) -> None:
        self.store = store

    async def claim(self, node: str, now: int, lease_ms: int, limit: int) -> list[Due]:
        """Lease up to ``limit`` due rows that no live lease holds."""
        query = (
            select(DEADLINES.c.room_id, DEADLINES.c.poll, DEADLINES.c.deadline)
            .where(DEADLINES.c.deadline <= now, DEADLINES.c.lease_until < now)
            .order_by(DEADLINES.c.deadline)
            .limit(limit)
        )
        if not self.store.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        async with self.store.transaction() as conn:
            rows = list(await conn.execute(query))
            for r in rows:
                await conn.execute(
                    update(DEADLINES)
                    .where(DEADLINES.c.room_id == r.room_id, DEADLINES.c.poll == r.poll)
                    .values(lease_owner=node, lease_until=now + lease_ms)
                )
        return [Due(room_id=r.room_id, poll=r.poll, deadline=r.deadline) for r in rows]

    async def done(self, room_id: str, poll: int) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(delete(DEADLINES).where(DEADLINES.c.room_id == room_id, DEADLINES.c.poll == poll))

    async def next_due(self) -> int | None:
        """When the next row can be claimed: its deadline, or its lease's end if later."""
        c = DEADLINES.c
        ready = case((c.lease_until > c.deadline, c.lease_until), else_=c.deadline)
        async with self.store.reader() as conn:
            value = (await conn.execute(select(func.min(ready)))).scalar()
        return None if value is None else int(value)

    async def pending(self, room_id: str) -> list[int]:
        """The polls of ``room_id`` that still have a deadline row (tests, diagnostics)."""
        async with self.store.reader() as conn:
            rows = await conn.execute(
                select(DEADLINES.c.poll).where(DEADLINES.c.room_id == room_id).order_by(DEADLINES.c.poll)
            )
            return [int(r.poll) for r in rows]
