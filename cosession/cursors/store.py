"""Reading and writing read cursors, and counting a long unread tail from the SQL log.

Cursors live in ``member_cursors`` (one row per room and member); a write keeps the
larger of the stored and the new seq, so a late or repeated write never moves a cursor
back. ``count_tail`` counts unread events straight from the ``events`` table: rows by
the member are filtered out in SQL and only the op's type of the others is decoded, at
most ``limit`` rows (the newest ones), so the work of a welcome stays bounded however old
the cursor is.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from cosession.cursors.models import MemberCursorRow
from cosession.store.models import EventRow
from cosession.tenants.store import engine_of
from protocol.messages import Unread
from protocol.unread import count_kinds

CURSORS: sa.Table = MemberCursorRow.__table__  # type: ignore[attr-defined]
EVENTS: sa.Table = EventRow.__table__  # type: ignore[attr-defined]


class _OpHead(msgspec.Struct, frozen=True):
    t: str = ""


class _EventHead(msgspec.Struct):
    """Just enough of a stored event to count it (other fields are skipped, not built)."""

    by: str = ""
    op: _OpHead = _OpHead()


_head_decoder = msgspec.msgpack.Decoder(_EventHead)


class CursorStore:
    def __init__(self, source: object) -> None:
        """``source``: the server's store (its engine is looked up on use)."""
        self._source = source

    @property
    def _engine(self) -> AsyncEngine:
        engine = engine_of(self._source)
        assert isinstance(engine, AsyncEngine)
        return engine

    async def get(self, room: str, member: str) -> int:
        async with self._engine.connect() as conn:
            seq = await conn.scalar(sa.select(CURSORS.c.seq).where(CURSORS.c.room == room, CURSORS.c.member == member))
            return int(seq or 0)

    async def advance(self, cursors: Mapping[tuple[str, str], int]) -> None:
        """Store each ``(room, member) -> seq``, keeping the larger seq (one transaction)."""
        if not cursors:
            return
        engine = self._engine
        is_sqlite = engine.dialect.name == "sqlite"
        insert = sqlite.insert if is_sqlite else postgresql.insert
        now = int(time.time() * 1000)
        rows = [{"room": r, "member": m, "seq": s, "updated_at": now} for (r, m), s in sorted(cursors.items())]
        stmt = insert(CURSORS).values(rows)
        bigger = stmt.excluded.seq > CURSORS.c.seq
        stmt = stmt.on_conflict_do_update(
            index_elements=[CURSORS.c.room, CURSORS.c.member],
            set_={
                "seq": sa.case((bigger, stmt.excluded.seq), else_=CURSORS.c.seq),
                "updated_at": sa.case((bigger, stmt.excluded.updated_at), else_=CURSORS.c.updated_at),
            },
        )
        transaction = getattr(self._source, "transaction", None)
        if transaction is not None:  # queued behind the store's own writers (SQLite: one at a time)
            async with transaction() as conn:
                await conn.execute(stmt)
            return
        # cosession_write: on SQLite the store's begin hook makes this BEGIN IMMEDIATE
        async with engine.execution_options(cosession_write=True).begin() as conn:
            await conn.execute(stmt)

    async def forget_room(self, room: str) -> None:
        async with self._engine.execution_options(cosession_write=True).begin() as conn:
            await conn.execute(sa.delete(CURSORS).where(CURSORS.c.room == room))

    async def count_tail(self, room: str, after: int, upto: int, member: str, limit: int) -> Unread:
        """Unread counts of the stored events ``after < seq <= upto`` for ``member``,
        looking at most at the ``limit`` newest events by others."""
        if upto <= after:
            return Unread()
        query = (
            sa.select(EVENTS.c.body)
            .where(EVENTS.c.room_id == room, EVENTS.c.seq > after, EVENTS.c.seq <= upto, EVENTS.c.member != member)
            .order_by(EVENTS.c.seq.desc())
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = await conn.execute(query)
            heads = [_head_decoder.decode(body) for (body,) in rows]
        return count_kinds(((h.by, h.op.t) for h in heads), member)
