"""SQL for the admin API: list a tenant's rooms, record closures, purge a room, rewrite a
room's stored log and snapshot for an erasure, and the tenants' retention policies.

Runs on the store's engine (SQLite or PostgreSQL); writes start with the store's
``cosession_write`` option (``BEGIN IMMEDIATE`` on SQLite). Every write is idempotent, so
two nodes doing the same thing (a retention sweep) end in the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cosession.admin.models import RetentionRow, RoomClosureRow
from cosession.cursors.models import MemberCursorRow
from cosession.help.models import HelpChangeRow, HelpRequestRow
from cosession.store.models import EventRow, InviteRow, RoomRow, SnapshotRow
from cosession.tenants.store import engine_of
from cosession.trends.models import RoomFocusRow
from protocol.erasure import scrub_event
from protocol.messages import Event, HelpRequest, RoomState
from protocol.reducer import scrub_state

ROOMS: sa.Table = RoomRow.__table__  # type: ignore[attr-defined]
EVENTS: sa.Table = EventRow.__table__  # type: ignore[attr-defined]
SNAPSHOTS: sa.Table = SnapshotRow.__table__  # type: ignore[attr-defined]
INVITES: sa.Table = InviteRow.__table__  # type: ignore[attr-defined]
CLOSURES: sa.Table = RoomClosureRow.__table__  # type: ignore[attr-defined]
FOCUS: sa.Table = RoomFocusRow.__table__  # type: ignore[attr-defined]
CURSORS: sa.Table = MemberCursorRow.__table__  # type: ignore[attr-defined]
HELP_REQUESTS: sa.Table = HelpRequestRow.__table__  # type: ignore[attr-defined]
HELP_CHANGES: sa.Table = HelpChangeRow.__table__  # type: ignore[attr-defined]
RETENTION: sa.Table = RetentionRow.__table__  # type: ignore[attr-defined]

_event_decoder = msgspec.msgpack.Decoder(Event)
_state_decoder = msgspec.msgpack.Decoder(RoomState)
_encoder = msgspec.msgpack.Encoder()
_REWRITE_CHUNK = 500


@dataclass(frozen=True)
class RoomListing:
    id: str
    created_at: int
    active_at: int  # ts of the room's last event
    head: int
    closed_at: int | None


@dataclass(frozen=True)
class Retention:
    close_after: int  # ms idle before the room is closed
    purge_after: int  # ms after closing before its data is deleted


@dataclass(frozen=True)
class RoomFilter:
    closed: bool | None = None
    created_after: int | None = None
    created_before: int | None = None
    active_after: int | None = None
    active_before: int | None = None


def _last_event(column: Any) -> Any:
    return (
        sa.select(column)
        .where(EVENTS.c.room_id == ROOMS.c.id)
        .order_by(EVENTS.c.seq.desc())
        .limit(1)
        .correlate(ROOMS)
        .scalar_subquery()
    )


class AdminStore:
    def __init__(self, store: object) -> None:
        self._source = store

    @property
    def _engine(self) -> AsyncEngine:
        engine = engine_of(self._source)
        assert isinstance(engine, AsyncEngine)
        return engine

    def _begin_write(self) -> Any:
        return self._engine.execution_options(cosession_write=True).begin()

    # ---- listing -------------------------------------------------------------------

    async def list_rooms(
        self, tenant: str, where: RoomFilter, after: tuple[int, str] | None, limit: int
    ) -> list[RoomListing]:
        """Up to ``limit`` rooms of ``tenant``, newest first, strictly after the cursor
        ``(created_at, id)``."""
        active = _last_event(EVENTS.c.ts).label("active_at")
        head = _last_event(EVENTS.c.seq).label("head")
        query = (
            sa.select(ROOMS.c.id, ROOMS.c.created_at, active, head, CLOSURES.c.closed_at)
            .select_from(ROOMS.outerjoin(CLOSURES, CLOSURES.c.room_id == ROOMS.c.id))
            .where(ROOMS.c.tenant == tenant)
            .order_by(ROOMS.c.created_at.desc(), ROOMS.c.id.desc())
            .limit(limit)
        )
        if after is not None:
            at, room_id = after
            query = query.where(
                sa.or_(ROOMS.c.created_at < at, sa.and_(ROOMS.c.created_at == at, ROOMS.c.id < room_id))
            )
        if where.closed is not None:
            query = query.where(CLOSURES.c.room_id.is_not(None) if where.closed else CLOSURES.c.room_id.is_(None))
        if where.created_after is not None:
            query = query.where(ROOMS.c.created_at >= where.created_after)
        if where.created_before is not None:
            query = query.where(ROOMS.c.created_at < where.created_before)
        if where.active_after is not None:
            query = query.where(_last_event(EVENTS.c.ts) >= where.active_after)
        if where.active_before is not None:
            query = query.where(_last_event(EVENTS.c.ts) < where.active_before)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            RoomListing(id=r.id, created_at=r.created_at, active_at=r.active_at or 0, head=r.head or 0,
                        closed_at=r.closed_at)
            for r in rows
        ]  # fmt: skip

    async def closed_at(self, room_id: str) -> int | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(CLOSURES.c.closed_at).where(CLOSURES.c.room_id == room_id))).first()
        return None if row is None else int(row.closed_at)

    # ---- closing and purging -------------------------------------------------------

    async def record_closed(self, room_id: str, at: int, reason: str) -> None:
        """Insert-if-absent: the first node's closing time wins."""
        insert = sqlite.insert if self._engine.dialect.name == "sqlite" else postgresql.insert
        async with self._begin_write() as conn:
            await conn.execute(
                insert(CLOSURES)
                .values(room_id=room_id, closed_at=at, reason=reason[:200])
                .on_conflict_do_nothing(index_elements=["room_id"])
            )

    async def purge(self, room_id: str) -> bool:
        """Delete a *closed* room's data (events, snapshot, invites, its trends focus rows,
        the room). False when the room is not (or no longer) recorded as closed: the guard
        is in the same transaction, so a purge can never hit an open room. The webhook
        outbox keeps the room's messages (docs/admin-api.md, "Delete")."""
        async with self._begin_write() as conn:
            closed = (await conn.execute(sa.select(CLOSURES.c.room_id).where(CLOSURES.c.room_id == room_id))).first()
            if closed is None:
                return False
            for table, column in ((EVENTS, EVENTS.c.room_id), (SNAPSHOTS, SNAPSHOTS.c.room_id),
                                  (INVITES, INVITES.c.room_id), (FOCUS, FOCUS.c.room_id),
                                  (CURSORS, CURSORS.c.room), (ROOMS, ROOMS.c.id)):  # fmt: skip
                await conn.execute(table.delete().where(column == room_id))
            await conn.execute(CLOSURES.delete().where(CLOSURES.c.room_id == room_id))
            # the room's help requests (and their queue changes) go with it
            requests = sa.select(HELP_REQUESTS.c.id).where(HELP_REQUESTS.c.room_id == room_id)
            await conn.execute(HELP_CHANGES.delete().where(HELP_CHANGES.c.request_id.in_(requests)))
            await conn.execute(HELP_REQUESTS.delete().where(HELP_REQUESTS.c.room_id == room_id))
        return True

    # ---- erasure -------------------------------------------------------------------

    async def erase_member(self, room_id: str, member: str) -> int:
        """Rewrite the room's stored events and snapshot without ``member``'s personal
        data (``scrub_event`` / ``scrub_state``). Returns how many rows changed."""
        changed = 0
        after = 0
        while True:
            async with self._begin_write() as conn:
                rows = (
                    await conn.execute(
                        sa.select(EVENTS.c.seq, EVENTS.c.body)
                        .where(EVENTS.c.room_id == room_id, EVENTS.c.seq > after)
                        .order_by(EVENTS.c.seq)
                        .limit(_REWRITE_CHUNK)
                    )
                ).all()
                changed += await self._rewrite(conn, room_id, member, rows)
            if len(rows) < _REWRITE_CHUNK:
                break
            after = rows[-1].seq
        async with self._begin_write() as conn:
            snap = (await conn.execute(sa.select(SNAPSHOTS.c.state).where(SNAPSHOTS.c.room_id == room_id))).first()
            if snap is not None:
                state = _state_decoder.decode(snap.state)
                scrub_state(state, member)
                body = _encoder.encode(state)
                if body != snap.state:
                    await conn.execute(SNAPSHOTS.update().where(SNAPSHOTS.c.room_id == room_id).values(state=body))
                    changed += 1
        return changed

    @staticmethod
    async def _rewrite(conn: AsyncConnection, room_id: str, member: str, rows: Sequence[Any]) -> int:
        changed = 0
        for row in rows:
            event = _event_decoder.decode(row.body)
            clean = scrub_event(event, member)
            if clean is not event:
                await conn.execute(
                    EVENTS.update()
                    .where(EVENTS.c.room_id == room_id, EVENTS.c.seq == row.seq)
                    .values(body=_encoder.encode(clean))
                )
                changed += 1
                if isinstance(event.op, HelpRequest):  # the queue's copy of the note goes too
                    await conn.execute(
                        HELP_REQUESTS.update()
                        .where(HELP_REQUESTS.c.room_id == room_id, HELP_REQUESTS.c.seq == row.seq)
                        .values(note=None)
                    )
        return changed

    # ---- retention -----------------------------------------------------------------

    async def retention(self, tenant: str) -> Retention | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(RETENTION).where(RETENTION.c.tenant == tenant))).first()
        return None if row is None else Retention(close_after=row.close_after, purge_after=row.purge_after)

    async def set_retention(self, tenant: str, policy: Retention | None) -> None:
        async with self._begin_write() as conn:
            await conn.execute(RETENTION.delete().where(RETENTION.c.tenant == tenant))
            if policy is not None:
                await conn.execute(
                    RETENTION.insert().values(
                        tenant=tenant, close_after=policy.close_after, purge_after=policy.purge_after
                    )
                )

    async def policies(self) -> dict[str, Retention]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(sa.select(RETENTION))).all()
        return {r.tenant: Retention(close_after=r.close_after, purge_after=r.purge_after) for r in rows}

    async def idle_rooms(self, tenant: str, idle_before: int, limit: int) -> list[str]:
        """Open rooms of ``tenant`` whose last event is older than ``idle_before``."""
        query = (
            sa.select(ROOMS.c.id)
            .select_from(ROOMS.outerjoin(CLOSURES, CLOSURES.c.room_id == ROOMS.c.id))
            .where(ROOMS.c.tenant == tenant, CLOSURES.c.room_id.is_(None), _last_event(EVENTS.c.ts) < idle_before)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [r.id for r in (await conn.execute(query)).all()]

    async def purgeable_rooms(self, tenant: str, closed_before: int, limit: int) -> list[str]:
        query = (
            sa.select(ROOMS.c.id)
            .join(CLOSURES, CLOSURES.c.room_id == ROOMS.c.id)
            .where(ROOMS.c.tenant == tenant, CLOSURES.c.closed_at < closed_before)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [r.id for r in (await conn.execute(query)).all()]
