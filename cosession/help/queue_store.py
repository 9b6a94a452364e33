"""The help queue in the shared database: rows written with their room events, claims as
one conditional UPDATE, the change log that feeds the associates' streams.

Every transaction that writes ``help_changes`` first takes ``HELP_LOCK_KEY`` (a
PostgreSQL transaction-scoped advisory lock; SQLite has one writer anyway), so change ids
commit in id order: a reader that saw id N has seen every id below N, and a cursor (the SSE
``Last-Event-ID``) never skips a change.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cosession.help.context import decode_context
from cosession.help.models import AssociateRow, HelpChangeRow, HelpRequestRow
from cosession.store.models import RoomRow
from cosession.store.store import PendingEvent
from protocol.messages import Chat, HelpRequest

REQUESTS = HelpRequestRow.__table__  # type: ignore[attr-defined]
CHANGES = HelpChangeRow.__table__  # type: ignore[attr-defined]
ASSOCIATES = AssociateRow.__table__  # type: ignore[attr-defined]
ROOMS = RoomRow.__table__  # type: ignore[attr-defined]
HELP_LOCK_KEY = 0x68656C7071756575  # "helpqueu" in ASCII
ASSOCIATE_PREFIX = "as_"  # associate member ids: a chat by one may be a first answer


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class HelpWrites:
    """What one event transaction changed in the queue (for wake-ups and metrics)."""

    tenants: set[str] = field(default_factory=set)
    requested: list[tuple[str | None, str | None, str]] = field(default_factory=list)  # (store, department, where)
    answered: list[tuple[str | None, str | None, float]] = field(default_factory=list)  # (store, dept, seconds)


async def lock(conn: AsyncConnection) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": HELP_LOCK_KEY})


async def add_change(conn: AsyncConnection, tenant: str, request_id: int, kind: str, at: int) -> None:
    await conn.execute(CHANGES.insert().values(tenant=tenant, request_id=request_id, kind=kind, at=at))


async def write_for_events(
    conn: AsyncConnection, insert: Any, events: Iterable[PendingEvent], escalate_ms: int
) -> HelpWrites:
    """Inside the transaction that stores ``events``: a queue row for each ``help.request``
    of a tenant's room (insert-if-absent on ``(room, seq)``), and the first answer of a
    claimed request's associate. Costs nothing for other events."""
    out = HelpWrites()
    requests = [p for p in events if isinstance(p.event.op, HelpRequest)]
    chats = [p for p in events if isinstance(p.event.op, Chat) and p.event.by.startswith(ASSOCIATE_PREFIX)]
    if not requests and not chats:
        return out
    await lock(conn)
    if requests:
        rooms = sorted({p.room_id for p in requests})
        found = await conn.execute(select(ROOMS.c.id, ROOMS.c.tenant).where(ROOMS.c.id.in_(rooms)))
        tenants: dict[str, str | None] = {room_id: tenant for room_id, tenant in found}
        for p in requests:
            tenant = tenants.get(p.room_id)
            op = p.event.op
            assert isinstance(op, HelpRequest)
            if not tenant:
                continue  # rooms without a tenant have no associates
            ctx = decode_context(p.context)
            department = op.department or ctx.department
            inserted = await conn.execute(
                insert(REQUESTS)
                .values(
                    tenant=tenant,
                    room_id=p.room_id,
                    seq=p.event.seq,
                    where=op.where,
                    store=ctx.store,
                    department=department,
                    note=op.note,
                    context=(p.context or b"{}").decode(),
                    state="open",
                    level=0,
                    created_at=p.event.ts,
                    escalate_at=p.event.ts + escalate_ms,
                    lease_until=0,
                )
                .on_conflict_do_nothing(index_elements=["room_id", "seq"])
                .returning(REQUESTS.c.id)
            )
            new_id = inserted.scalar()
            if new_id is not None:
                await add_change(conn, tenant, new_id, "request", p.event.ts)
                out.tenants.add(tenant)
                out.requested.append((ctx.store, department, op.where))
    for p in chats:
        answered = (
            await conn.execute(
                update(REQUESTS)
                .where(
                    REQUESTS.c.room_id == p.room_id,
                    REQUESTS.c.associate == p.event.by,
                    REQUESTS.c.state == "claimed",
                    REQUESTS.c.answered_at.is_(None),
                )
                .values(answered_at=p.event.ts)
                .returning(REQUESTS.c.store, REQUESTS.c.department, REQUESTS.c.claimed_at)
            )
        ).first()
        if answered is not None and answered.claimed_at is not None:
            seconds = max(0.0, (p.event.ts - answered.claimed_at) / 1000)
            out.answered.append((answered.store, answered.department, seconds))
    return out


@dataclass(frozen=True)
class Associate:
    id: str
    tenant: str
    name: str
    stores: list[str]
    created_at: int
    revoked: bool


def _associate(row: Any) -> Associate:
    return Associate(
        id=row.id,
        tenant=row.tenant,
        name=row.name,
        stores=list(json.loads(row.stores or "[]")),
        created_at=row.created_at,
        revoked=row.revoked_at is not None,
    )


Row = Any  # a help_requests row


class HelpStore:
    """Queue reads and writes outside the event transactions (REST, streams, sweeper)."""

    def __init__(self, store: Any) -> None:
        self.store = store  # SqlStore: transaction(), reader(), insert

    # ---- associates -------------------------------------------------------------------

    async def create_associate(self, associate: Associate) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                ASSOCIATES.insert().values(
                    id=associate.id,
                    tenant=associate.tenant,
                    name=associate.name,
                    stores=json.dumps(associate.stores),
                    created_at=associate.created_at,
                )
            )

    async def associate(self, associate_id: str) -> Associate | None:
        async with self.store.reader() as conn:
            row = (await conn.execute(select(ASSOCIATES).where(ASSOCIATES.c.id == associate_id))).first()
        return None if row is None else _associate(row)

    async def revoke_associate(self, tenant: str, associate_id: str) -> bool:
        async with self.store.transaction() as conn:
            result = await conn.execute(
                update(ASSOCIATES)
                .where(
                    ASSOCIATES.c.id == associate_id, ASSOCIATES.c.tenant == tenant, ASSOCIATES.c.revoked_at.is_(None)
                )
                .values(revoked_at=now_ms())
            )
        return bool(result.rowcount)

    # ---- the queue --------------------------------------------------------------------

    async def request(self, tenant: str, room_id: str, seq: int) -> Row | None:
        async with self.store.reader() as conn:
            return (
                await conn.execute(
                    select(REQUESTS).where(
                        REQUESTS.c.tenant == tenant, REQUESTS.c.room_id == room_id, REQUESTS.c.seq == seq
                    )
                )
            ).first()

    async def queue(self, tenant: str, limit: int) -> tuple[list[Row], int]:
        """Open and claimed requests, oldest first, and the change cursor they are current at."""
        async with self.store.reader() as conn:
            cursor = await conn.scalar(select(func.max(CHANGES.c.id)).where(CHANGES.c.tenant == tenant))
            rows = (
                await conn.execute(
                    select(REQUESTS)
                    .where(REQUESTS.c.tenant == tenant, REQUESTS.c.state != "closed")
                    .order_by(REQUESTS.c.id)
                    .limit(limit)
                )
            ).all()
        return list(rows), int(cursor or 0)

    async def cursor(self, tenant: str) -> int:
        async with self.store.reader() as conn:
            value = await conn.scalar(select(func.max(CHANGES.c.id)).where(CHANGES.c.tenant == tenant))
        return int(value or 0)

    async def changes_after(self, tenant: str, after: int, limit: int) -> list[tuple[int, str, Row]]:
        """``(change id, kind, the request's current row)`` after ``after``, in id order."""
        async with self.store.reader() as conn:
            rows = (
                await conn.execute(
                    select(CHANGES.c.id.label("change_id"), CHANGES.c.kind.label("change_kind"), REQUESTS)
                    .select_from(CHANGES.join(REQUESTS, REQUESTS.c.id == CHANGES.c.request_id))
                    .where(CHANGES.c.tenant == tenant, CHANGES.c.id > after)
                    .order_by(CHANGES.c.id)
                    .limit(limit)
                )
            ).all()
        return [(row.change_id, row.change_kind, row) for row in rows]

    async def claim(self, tenant: str, room_id: str, seq: int, associate: Associate) -> tuple[str, Row | None]:
        """``("ok", row)`` for the one winner, ``("again", row)`` when the same associate
        claims it again (idempotent), ``("taken" | "closed", row)`` otherwise, and
        ``("missing", None)`` for no such request."""
        now = now_ms()
        async with self.store.transaction() as conn:
            await lock(conn)
            won = (
                await conn.execute(
                    update(REQUESTS)
                    .where(
                        REQUESTS.c.tenant == tenant,
                        REQUESTS.c.room_id == room_id,
                        REQUESTS.c.seq == seq,
                        REQUESTS.c.state == "open",
                    )
                    .values(state="claimed", associate=associate.id, associate_name=associate.name, claimed_at=now)
                    .returning(*REQUESTS.c)
                )
            ).first()
            if won is not None:
                await add_change(conn, tenant, won.id, "update", now)
                return "ok", won
            row = (
                await conn.execute(
                    select(REQUESTS).where(
                        REQUESTS.c.tenant == tenant, REQUESTS.c.room_id == room_id, REQUESTS.c.seq == seq
                    )
                )
            ).first()
        if row is None:
            return "missing", None
        if row.state == "claimed" and row.associate == associate.id:
            return "again", row
        return ("closed" if row.state == "closed" else "taken"), row

    async def close(self, tenant: str, room_id: str, seq: int, associate: str | None) -> tuple[str, Row | None]:
        """Close a request: by its associate (``associate``: only one they claimed, or an
        open one) or, with ``associate=None``, by the room. ``("ok" | "closed" | "not_yours"
        | "missing", row)``."""
        now = now_ms()
        async with self.store.transaction() as conn:
            await lock(conn)
            where = [
                REQUESTS.c.tenant == tenant,
                REQUESTS.c.room_id == room_id,
                REQUESTS.c.seq == seq,
                REQUESTS.c.state != "closed",
            ]
            if associate is not None:
                where.append((REQUESTS.c.state == "open") | (REQUESTS.c.associate == associate))
            done = (
                await conn.execute(
                    update(REQUESTS).where(*where).values(state="closed", closed_at=now).returning(*REQUESTS.c)
                )
            ).first()
            if done is not None:
                await add_change(conn, tenant, done.id, "removed", now)
                return "ok", done
            row = (
                await conn.execute(
                    select(REQUESTS).where(
                        REQUESTS.c.tenant == tenant, REQUESTS.c.room_id == room_id, REQUESTS.c.seq == seq
                    )
                )
            ).first()
        if row is None:
            return "missing", None
        return ("closed" if row.state == "closed" else "not_yours"), row

    # ---- escalation (cosession/help/escalation.py) -----------------------------------

    async def take_due(self, owner: str, lease_ms: int, limit: int, max_level: int) -> list[Row]:
        """Lease open requests whose escalation is due (one node works on each at a time)."""
        now = now_ms()
        async with self.store.transaction() as conn:
            due = (
                await conn.execute(
                    select(REQUESTS.c.id)
                    .where(
                        REQUESTS.c.state == "open",
                        REQUESTS.c.escalate_at <= now,
                        REQUESTS.c.lease_until < now,
                        REQUESTS.c.level < max_level,
                    )
                    .order_by(REQUESTS.c.escalate_at)
                    .limit(limit)
                )
            ).all()
            if not due:
                return []
            rows = (
                await conn.execute(
                    update(REQUESTS)
                    .where(REQUESTS.c.id.in_([r.id for r in due]), REQUESTS.c.lease_until < now)
                    .values(lease_owner=owner, lease_until=now + lease_ms)
                    .returning(*REQUESTS.c)
                )
            ).all()
        return list(rows)

    async def escalated(self, row: Row, level: int, next_at: int, owner: str) -> bool:
        """Record the escalation to ``level`` (the room op is already durable) and re-notify."""
        now = now_ms()
        async with self.store.transaction() as conn:
            await lock(conn)
            result = await conn.execute(
                update(REQUESTS)
                .where(REQUESTS.c.id == row.id, REQUESTS.c.state == "open", REQUESTS.c.level < level)
                .values(level=level, escalate_at=next_at, lease_owner=None, lease_until=0)
            )
            if result.rowcount:
                await add_change(conn, row.tenant, row.id, "update", now)
                return True
            await conn.execute(
                update(REQUESTS)
                .where(REQUESTS.c.id == row.id, REQUESTS.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=0)
            )
        return False

    # ---- service figures (no member ids, no names of shoppers) ----------------------

    async def rows_for_stats(self, tenant: str, since: int) -> list[Row]:
        async with self.store.reader() as conn:
            return list(
                (
                    await conn.execute(
                        select(
                            REQUESTS.c.store,
                            REQUESTS.c.department,
                            REQUESTS.c.where,
                            REQUESTS.c.state,
                            REQUESTS.c.level,
                            REQUESTS.c.associate,
                            REQUESTS.c.associate_name,
                            REQUESTS.c.created_at,
                            REQUESTS.c.claimed_at,
                            REQUESTS.c.answered_at,
                        ).where(REQUESTS.c.tenant == tenant, REQUESTS.c.created_at >= since)
                    )
                ).all()
            )
