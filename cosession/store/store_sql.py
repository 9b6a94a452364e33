"""``Store`` over SQLModel/SQLAlchemy, SQLite by default.

All database work runs on one dedicated thread: SQLite has a single writer anyway, and a
single thread keeps batches in order with no lock contention. SQLite runs in WAL mode with
``synchronous=FULL`` by default, so a committed batch survives a process crash and power
loss; the group committer amortises the fsync over every event that arrived meanwhile.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from sqlalchemy import event as sa_event
from sqlalchemy import select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel, create_engine

from cosession.store.models import EventRow, InviteRow, RoomRow, SnapshotRow
from cosession.store.store import (
    Invite,
    InviteError,
    LoadedRoom,
    PendingEvent,
    RoomRecord,
    SnapshotWrite,
)
from protocol.messages import Event, RoomState
from protocol.reducer import apply

T = TypeVar("T")

_event_decoder = msgspec.msgpack.Decoder(Event)
_state_decoder = msgspec.msgpack.Decoder(RoomState)

EVENTS = EventRow.__table__  # type: ignore[attr-defined]
ROOMS = RoomRow.__table__  # type: ignore[attr-defined]
SNAPSHOTS = SnapshotRow.__table__  # type: ignore[attr-defined]
INVITES = InviteRow.__table__  # type: ignore[attr-defined]


def _sqlite_pragmas(synchronous: str) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA busy_timeout=5000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return on_connect


class SqlStore:
    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL") -> None:
        if sqlite_synchronous.upper() not in ("FULL", "NORMAL", "EXTRA", "OFF"):
            raise ValueError(f"bad sqlite synchronous mode {sqlite_synchronous!r}")
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite and url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self._engine: Engine = create_engine(url, connect_args={"check_same_thread": False} if self.is_sqlite else {})
        if self.is_sqlite:
            sa_event.listen(self._engine, "connect", _sqlite_pragmas(sqlite_synchronous.upper()))
        self._thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="cosession-db")

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn)

    async def start(self) -> None:
        await self._run(lambda: SQLModel.metadata.create_all(self._engine))

    async def close(self) -> None:
        await self._run(self._engine.dispose)
        self._thread.shutdown(wait=True)

    async def ping(self) -> None:
        def check() -> None:
            with self._engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        await self._run(check)

    # ---- rooms and events ----------------------------------------------------------

    async def create_room(self, record: RoomRecord, first: PendingEvent) -> None:
        def write() -> None:
            with self._engine.begin() as conn:
                conn.execute(ROOMS.insert().values(id=record.id, epoch=record.epoch, created_at=record.created_at))
                self._insert_events(conn, [first])

        await self._run(write)

    def _insert_events(self, conn: Connection, events: list[PendingEvent]) -> None:
        if not events:
            return
        rows = [
            {
                "room_id": p.room_id,
                "seq": p.event.seq,
                "ts": p.event.ts,
                "member": p.event.by,
                "ref": p.ref,
                "body": p.body,
            }
            for p in events
        ]
        if self.is_sqlite:
            conn.execute(sqlite_insert(EVENTS).on_conflict_do_nothing(), rows)
        else:  # pragma: no cover - exercised by the PostgreSQL suite
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            conn.execute(pg_insert(EVENTS).on_conflict_do_nothing(), rows)

    def _upsert_snapshots(self, conn: Connection, snapshots: list[SnapshotWrite]) -> None:
        for snap in snapshots:
            values = {"room_id": snap.room_id, "seq": snap.seq, "state": snap.state}
            stmt: Any
            if self.is_sqlite:
                stmt = sqlite_insert(SNAPSHOTS).values(**values)
            else:  # pragma: no cover
                from sqlalchemy.dialects.postgresql import insert as pg_insert

                stmt = pg_insert(SNAPSHOTS).values(**values)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["room_id"],
                    set_={"seq": snap.seq, "state": snap.state},
                    where=SNAPSHOTS.c.seq < snap.seq,
                )
            )

    async def append(self, events: list[PendingEvent], snapshots: list[SnapshotWrite]) -> None:
        def write() -> None:
            with self._engine.begin() as conn:
                self._insert_events(conn, events)
                self._upsert_snapshots(conn, snapshots)

        await self._run(write)

    async def load_room(self, room_id: str, history: int, idempotency: int) -> LoadedRoom | None:
        def read() -> LoadedRoom | None:
            with self._engine.connect() as conn:
                row = conn.execute(select(ROOMS).where(ROOMS.c.id == room_id)).first()
                if row is None:
                    return None
                record = RoomRecord(id=row.id, epoch=row.epoch, created_at=row.created_at)
                snap = conn.execute(select(SNAPSHOTS).where(SNAPSHOTS.c.room_id == room_id)).first()
                state = _state_decoder.decode(snap.state) if snap is not None else RoomState()
                tail = conn.execute(
                    select(EVENTS.c.body)
                    .where(EVENTS.c.room_id == room_id, EVENTS.c.seq > state.seq)
                    .order_by(EVENTS.c.seq)
                ).all()
                for (body,) in tail:
                    apply(state, _event_decoder.decode(body))
                head = state.seq
                recent = conn.execute(
                    select(EVENTS.c.body)
                    .where(EVENTS.c.room_id == room_id, EVENTS.c.seq > head - history)
                    .order_by(EVENTS.c.seq)
                ).all()
                refs = conn.execute(
                    select(EVENTS.c.member, EVENTS.c.ref, EVENTS.c.seq)
                    .where(
                        EVENTS.c.room_id == room_id,
                        EVENTS.c.seq > head - idempotency,
                        EVENTS.c.ref.is_not(None),
                    )
                    .order_by(EVENTS.c.seq)
                ).all()
                return LoadedRoom(
                    record=record,
                    state=state,
                    head=head,
                    history=[_event_decoder.decode(body) for (body,) in recent],
                    refs=[(m, r, s) for (m, r, s) in refs],
                )

        return await self._run(read)

    # ---- invites ---------------------------------------------------------------------

    async def create_invite(self, invite: Invite) -> None:
        def write() -> None:
            with self._engine.begin() as conn:
                conn.execute(
                    INVITES.insert().values(
                        code=invite.code,
                        room_id=invite.room_id,
                        role=invite.role,
                        created_by=invite.created_by,
                        created_at=invite.created_at,
                        expires_at=invite.expires_at,
                        max_uses=invite.max_uses,
                        uses=invite.uses,
                    )
                )

        await self._run(write)

    @staticmethod
    def _invite(row: Any) -> Invite:
        return Invite(
            code=row.code,
            room_id=row.room_id,
            role=row.role,
            created_by=row.created_by,
            created_at=row.created_at,
            expires_at=row.expires_at,
            max_uses=row.max_uses,
            uses=row.uses,
        )

    async def get_invite(self, code: str) -> Invite | None:
        def read() -> Invite | None:
            with self._engine.connect() as conn:
                row = conn.execute(select(INVITES).where(INVITES.c.code == code)).first()
                return None if row is None else self._invite(row)

        return await self._run(read)

    async def use_invite(self, code: str, now_ms: int) -> Invite:
        def write() -> Invite:
            with self._engine.begin() as conn:
                row = conn.execute(select(INVITES).where(INVITES.c.code == code)).first()
                if row is None:
                    raise InviteError("invite_not_found", "no such invite")
                if row.expires_at is not None and row.expires_at <= now_ms:
                    raise InviteError("invite_expired", "this invite has expired")
                result = conn.execute(
                    update(INVITES)
                    .where(
                        INVITES.c.code == code,
                        (INVITES.c.max_uses.is_(None)) | (INVITES.c.uses < INVITES.c.max_uses),
                    )
                    .values(uses=INVITES.c.uses + 1)
                )
                if result.rowcount != 1:
                    raise InviteError("invite_used_up", "this invite has been used up")
                return self._invite(row)

        return await self._run(write)
