"""``Store`` over SQLAlchemy's async engine: SQLite (aiosqlite) by default, PostgreSQL (asyncpg).

Users give plain URLs (``sqlite:///cosession.db``, ``postgresql://user@host/db``); they are
mapped to the async drivers here, so nothing else in the server names a driver.

SQLite has one writer per file. Every write transaction here takes an in-process lock and
then ``BEGIN IMMEDIATE`` (the file's write lock), so our writers queue in order instead of
failing with ``SQLITE_BUSY``; readers use their own connections and, thanks to WAL, never
wait for a writer. The group committer turns many events into one such transaction, so one
fsync (``synchronous=FULL``) covers every event that arrived while the previous batch was
being written. PostgreSQL needs no lock: rows conflict only on their keys.

The schema comes from the Alembic revisions in ``cosession/migrations``; ``start()``
upgrades the database to the newest one (see docs/storage.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import msgspec
import structlog
from sqlalchemy import event as sa_event
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from cosession.help.queue_store import HelpWrites
from cosession.help.queue_store import write_for_events as write_help_rows
from cosession.migrations import upgrade_to_head
from cosession.notify.writer import write_for_events as write_notifications
from cosession.polls.deadlines import write_for_events as write_poll_deadlines
from cosession.store.models import EventRow, InviteRow, RoomRow, SnapshotRow
from cosession.store.store import (
    Invite,
    InviteError,
    LoadedRoom,
    PendingEvent,
    RoomRecord,
    SnapshotWrite,
    UnstorableError,
)
from cosession.webhooks.outbox import write_for_events
from protocol.messages import Event, RoomState
from protocol.reducer import apply

_event_decoder = msgspec.msgpack.Decoder(Event)
_state_decoder = msgspec.msgpack.Decoder(RoomState)

EVENTS = EventRow.__table__  # type: ignore[attr-defined]
ROOMS = RoomRow.__table__  # type: ignore[attr-defined]
SNAPSHOTS = SnapshotRow.__table__  # type: ignore[attr-defined]
INVITES = InviteRow.__table__  # type: ignore[attr-defined]

SQLITE_SCHEMES = frozenset({"sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"})
POSTGRES_SCHEMES = frozenset({"postgresql", "postgres", "postgresql+asyncpg"})
SYNCHRONOUS_MODES = ("FULL", "NORMAL", "EXTRA", "OFF")

# Every node runs the migrations at start; on PostgreSQL they wait for each other on this
# transaction-scoped advisory lock (an arbitrary constant: "cosessio" in ASCII).
MIGRATION_LOCK_KEY = 0x636F73657373696F

# ``missing_seqs`` asks in chunks: SQLite and asyncpg both cap bound parameters per statement.
_IN_CHUNK = 500


def driver_url(url: str) -> URL:
    """Map a user-facing database URL to the async driver this server uses for it."""
    parsed = make_url(url)
    if parsed.drivername in SQLITE_SCHEMES:
        return parsed.set(drivername="sqlite+aiosqlite")
    if parsed.drivername in POSTGRES_SCHEMES:
        return parsed.set(drivername="postgresql+asyncpg")
    raise ValueError(
        f"unsupported database URL scheme {parsed.drivername!r}: use sqlite:///FILE or postgresql://USER@HOST:PORT/DB"
    )


def is_unstorable(exc: BaseException) -> bool:
    """Whether the database refused the data itself (so a retry fails the same way), as
    opposed to being unreachable, locked or read-only (``OperationalError``,
    ``InterfaceError``, ``OSError``, timeouts: worth retrying). A statement that failed
    before reaching the database (a value the driver cannot bind) counts as data too."""
    if isinstance(exc, (sa_exc.DataError, sa_exc.IntegrityError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        # SQLAlchemy's asyncpg adapter raises many data errors as a plain DBAPIError: ask
        # PostgreSQL's SQLSTATE (class 22 data exception, 23 integrity violation)
        state = _sqlstate(exc)
        return state is not None and state[:2] in ("22", "23")
    if isinstance(exc, sa_exc.StatementError):
        return exc.orig is None or is_unstorable(exc.orig) or isinstance(exc.orig, (ValueError, TypeError))
    return isinstance(exc, (ValueError, TypeError, OverflowError)) and not isinstance(exc, OSError)


def _sqlstate(exc: BaseException) -> str | None:
    """The PostgreSQL SQLSTATE of a driver error, looked up along its causes."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        state = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(state, str):
            return state
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def _storable_text(value: str | None, column: str) -> None:
    """No text column takes U+0000: PostgreSQL refuses it, and SQLite would keep what
    PostgreSQL refuses, so both refuse it alike (SPEC section 1; docs/storage.md)."""
    if value is not None and "\x00" in value:
        raise UnstorableError(f"{column} holds U+0000")


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


def _sqlite_on_connect(synchronous: str) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the driver (it would BEGIN only before DML and
        # run DDL outside any transaction); ``_sqlite_on_begin`` emits BEGIN instead, so
        # migrations are transactional and reads see one consistent snapshot.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA busy_timeout=5000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return on_connect


def _sqlite_on_begin(conn: Connection) -> None:
    # Writers take the file's write lock up front: no deferred-to-write upgrade, which
    # could fail with SQLITE_BUSY if another process wrote meanwhile.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("cosession_write") else "BEGIN")


def create_engine_for(url: str, *, sqlite_synchronous: str = "FULL") -> AsyncEngine:
    """The async engine for a user-facing URL, with the SQLite pragmas and transaction hooks."""
    target = driver_url(url)
    if target.get_backend_name() != "sqlite":
        return create_async_engine(target, pool_pre_ping=True)
    if _is_memory(target):
        engine = create_async_engine(target, poolclass=StaticPool)
    else:
        Path(str(target.database)).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(target)
    sa_event.listen(engine.sync_engine, "connect", _sqlite_on_connect(sqlite_synchronous.upper()))
    sa_event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
    return engine


def _run_migrations(conn: Connection) -> None:
    upgrade_to_head(conn)


class SqlStore:
    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL") -> None:
        if sqlite_synchronous.upper() not in SYNCHRONOUS_MODES:
            raise ValueError(f"bad sqlite synchronous mode {sqlite_synchronous!r}")
        self.url = url
        self.driver_url = driver_url(url)
        self.is_sqlite = self.driver_url.get_backend_name() == "sqlite"
        self._engine = create_engine_for(url, sqlite_synchronous=sqlite_synchronous)
        # the same pool; on SQLite its transactions start with BEGIN IMMEDIATE
        self._writer = self._engine.execution_options(cosession_write=True)
        # SQLite: one writer at a time; an in-memory database (one shared connection) also
        # serialises its readers
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._serialise_reads = self.is_sqlite and _is_memory(self.driver_url)
        self._insert: Any = sqlite.insert if self.is_sqlite else postgresql.insert
        # called after a commit that wrote webhook outbox rows (wakes the delivery worker)
        self.on_outbox: Callable[[], None] | None = None
        self.on_push: Callable[[], None] | None = None  # push rows written (cosession/notify wakes its worker)
        self.notify_quiet_ms = 600_000  # the quiet window (cosession/notify sets it from the settings)
        self._migrated = False  # the webhook outbox tables exist once start() migrated
        # told the earliest deadline of the poll.create events a transaction writes (SPEC 17.5)
        self.on_poll_deadline: Callable[[int], None] | None = None
        # help queue (cosession/help): the first escalation delay of new requests, and the
        # callback after a commit that changed the queue (wakes streams, counts metrics)
        self.help_escalate_ms = 120_000
        self.on_help: Callable[[HelpWrites], None] | None = None

    @property
    def insert(self) -> Any:
        """The dialect's ``insert`` (it has ``on_conflict_do_nothing``)."""
        return self._insert

    def transaction(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        """One write transaction, queued like the store's own (webhooks use it)."""
        return self._write()

    def reader(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        """A read connection (serialised with the writers on in-memory SQLite)."""
        return self._read()

    def _outbox_written(self, rows: int) -> None:
        if rows and self.on_outbox is not None:
            self.on_outbox()

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed on exit, rolled back on error."""
        if self._write_lock is None:
            async with self._engine.begin() as conn:
                yield conn
        else:
            async with self._write_lock, self._writer.begin() as conn:
                yield conn

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        if self._serialise_reads and self._write_lock is not None:
            async with self._write_lock, self._engine.connect() as conn:
                yield conn
        else:
            async with self._engine.connect() as conn:
                yield conn

    async def start(self) -> None:
        """Bring the schema up to the newest migration (idempotent; safe from many nodes at once)."""
        async with self._write() as conn:
            if not self.is_sqlite:
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            await conn.run_sync(_run_migrations)
        self._migrated = True

    async def close(self) -> None:
        await self._engine.dispose()

    @property
    def engine(self) -> AsyncEngine:
        """The async engine, shared with the tenant records (cosession/tenants/store.py)."""
        return self._engine

    async def ping(self) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    # ---- rooms and events ----------------------------------------------------------

    async def create_room(self, record: RoomRecord, first: PendingEvent) -> None:
        async with self._write() as conn:
            await conn.execute(
                ROOMS.insert().values(
                    id=record.id, epoch=record.epoch, created_at=record.created_at, tenant=record.tenant
                )
            )
            outbox, _help = await self._insert_events(conn, [first])
        self._outbox_written(outbox)

    def _help_written(self, writes: HelpWrites | None) -> None:
        if writes is not None and self.on_help is not None and (writes.tenants or writes.answered):
            self.on_help(writes)

    async def _insert_events(self, conn: AsyncConnection, events: list[PendingEvent]) -> tuple[int, HelpWrites | None]:
        """Insert-if-absent, with the webhook outbox rows, poll deadline rows and help queue
        rows they cause in the same transaction (cosession/webhooks/outbox.py,
        cosession/polls/deadlines.py, cosession/help/queue_store.py); returns how many outbox
        rows, and what changed in the help queue."""
        if not events:
            return 0, None
        for p in events:
            _storable_text(p.ref, "ref")
            _storable_text(p.event.by, "member")
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
        await conn.execute(self._insert(EVENTS).on_conflict_do_nothing(index_elements=["room_id", "seq"]), rows)
        if not self._migrated:
            return 0, None
        earliest = await write_poll_deadlines(conn, self._insert, events)
        if earliest is not None and self.on_poll_deadline is not None:
            self.on_poll_deadline(earliest)  # a wake-up call only: the sweeper reads the table
        help_writes = await write_help_rows(conn, self._insert, events, self.help_escalate_ms)
        notified = await self._notify(conn, events) if any(p.notify for p in events) else 0
        return notified + await write_for_events(conn, self._insert, events), help_writes

    async def _notify(self, conn: AsyncConnection, events: list[PendingEvent]) -> int:
        """The notification rows (cosession/notify/writer.py) in a savepoint: if they cannot
        be written, the events still commit (a room never stalls on a notification)."""
        try:
            async with conn.begin_nested():
                written = await write_notifications(
                    conn, self._insert, events, int(time.time() * 1000), self.notify_quiet_ms, lock=not self.is_sqlite
                )
        except sa_exc.DBAPIError:
            structlog.get_logger("cosession.notify").exception("notifications not written; the events are")
            return 0
        if written.pushes and self.on_push is not None:
            self.on_push()
        return written.webhooks

    async def _upsert_snapshots(self, conn: AsyncConnection, snapshots: list[SnapshotWrite]) -> None:
        newest: dict[str, SnapshotWrite] = {}
        for snap in snapshots:
            if snap.room_id not in newest or newest[snap.room_id].seq < snap.seq:
                newest[snap.room_id] = snap
        for snap in newest.values():
            stmt = self._insert(SNAPSHOTS).values(room_id=snap.room_id, seq=snap.seq, state=snap.state)
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["room_id"],
                    set_={"seq": stmt.excluded.seq, "state": stmt.excluded.state},
                    where=SNAPSHOTS.c.seq < stmt.excluded.seq,
                )
            )

    async def append(self, events: list[PendingEvent], snapshots: list[SnapshotWrite]) -> list[PendingEvent]:
        try:
            async with self._write() as conn:
                stale = await self._stale(conn, events)
                if stale:
                    refused = {id(p) for p in stale}
                    events = [p for p in events if id(p) not in refused]
                outbox, help_writes = await self._insert_events(conn, events)
                await self._upsert_snapshots(conn, snapshots)
        except UnstorableError:
            raise
        except Exception as exc:
            if is_unstorable(exc):
                raise UnstorableError(f"the database refused the batch: {type(exc).__name__}") from exc
            raise
        self._outbox_written(outbox)
        self._help_written(help_writes)
        return stale

    async def _stale(self, conn: AsyncConnection, events: list[PendingEvent]) -> list[PendingEvent]:
        """Events sequenced under an epoch the room no longer has. On PostgreSQL the room
        rows stay share-locked until commit, so a re-seed (``set_room_epoch``, an UPDATE)
        waits for this batch and then reads a head that includes it."""
        epochs = {p.room_id for p in events if p.epoch is not None}
        if not epochs:
            return []
        query = select(ROOMS.c.id, ROOMS.c.epoch).where(ROOMS.c.id.in_(sorted(epochs)))
        if not self.is_sqlite:
            query = query.with_for_update(read=True)
        current = {room_id: epoch for room_id, epoch in await conn.execute(query)}
        return [p for p in events if p.epoch is not None and current.get(p.room_id) != p.epoch]

    async def load_room(self, room_id: str, history: int, idempotency: int) -> LoadedRoom | None:
        async with self._read() as conn:
            row = (await conn.execute(select(ROOMS).where(ROOMS.c.id == room_id))).first()
            if row is None:
                return None
            record = RoomRecord(id=row.id, epoch=row.epoch, created_at=row.created_at, tenant=row.tenant)
            snap = (await conn.execute(select(SNAPSHOTS).where(SNAPSHOTS.c.room_id == room_id))).first()
            state = _state_decoder.decode(snap.state) if snap is not None else RoomState()
            tail = await conn.execute(
                select(EVENTS.c.body)
                .where(EVENTS.c.room_id == room_id, EVENTS.c.seq > state.seq)
                .order_by(EVENTS.c.seq)
            )
            for (body,) in tail:
                event = _event_decoder.decode(body)
                if event.seq != state.seq + 1:
                    # a hole: on a cluster, an event still on its way from its writer; the
                    # replica reads it (and what follows) from Redis's stream
                    break
                apply(state, event)
            head = state.seq
            # bounded by ``head``: on PostgreSQL other nodes may append meanwhile
            recent = await conn.execute(
                select(EVENTS.c.body)
                .where(EVENTS.c.room_id == room_id, EVENTS.c.seq > head - history, EVENTS.c.seq <= head)
                .order_by(EVENTS.c.seq)
            )
            history_events = [_event_decoder.decode(body) for (body,) in recent]
            refs = await conn.execute(
                select(EVENTS.c.member, EVENTS.c.ref, EVENTS.c.seq)
                .where(
                    EVENTS.c.room_id == room_id,
                    EVENTS.c.seq > head - idempotency,
                    EVENTS.c.seq <= head,
                    EVENTS.c.ref.is_not(None),
                )
                .order_by(EVENTS.c.seq)
            )
            return LoadedRoom(
                record=record,
                state=state,
                head=head,
                history=history_events,
                refs=[(m, r, s) for (m, r, s) in refs],
            )

    async def room_epoch(self, room_id: str) -> str | None:
        async with self._read() as conn:
            epoch: str | None = await conn.scalar(select(ROOMS.c.epoch).where(ROOMS.c.id == room_id))
            return epoch

    async def set_room_epoch(self, room_id: str, epoch: str) -> None:
        async with self._write() as conn:
            result = await conn.execute(update(ROOMS).where(ROOMS.c.id == room_id).values(epoch=epoch))
            if result.rowcount != 1:
                raise LookupError(f"no such room {room_id!r}")

    async def head(self, room_id: str) -> int:
        async with self._read() as conn:
            seq: int | None = await conn.scalar(select(func.max(EVENTS.c.seq)).where(EVENTS.c.room_id == room_id))
            return seq or 0

    async def events_after(self, room_id: str, seq: int, limit: int) -> list[Event]:
        async with self._read() as conn:
            rows = await conn.execute(
                select(EVENTS.c.body)
                .where(EVENTS.c.room_id == room_id, EVENTS.c.seq > seq)
                .order_by(EVENTS.c.seq)
                .limit(limit)
            )
            return [_event_decoder.decode(body) for (body,) in rows]

    async def missing_seqs(self, room_id: str, seqs: list[int]) -> list[int]:
        wanted = sorted(set(seqs))
        present: set[int] = set()
        async with self._read() as conn:
            for i in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[i : i + _IN_CHUNK]
                rows = await conn.execute(
                    select(EVENTS.c.seq).where(EVENTS.c.room_id == room_id, EVENTS.c.seq.in_(chunk))
                )
                present.update(s for (s,) in rows)
        return [s for s in wanted if s not in present]

    # ---- invites ---------------------------------------------------------------------

    async def create_invite(self, invite: Invite) -> None:
        async with self._write() as conn:
            await conn.execute(
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
        async with self._read() as conn:
            row = (await conn.execute(select(INVITES).where(INVITES.c.code == code))).first()
            return None if row is None else self._invite(row)

    async def use_invite(self, code: str, now_ms: int) -> Invite:
        async with self._write() as conn:
            # one conditional UPDATE: concurrent uses of the last slot serialise on the row
            # (PostgreSQL re-checks the WHERE after the lock) or on the writer lock (SQLite)
            row = (
                await conn.execute(
                    update(INVITES)
                    .where(
                        INVITES.c.code == code,
                        INVITES.c.expires_at.is_(None) | (INVITES.c.expires_at > now_ms),
                        INVITES.c.max_uses.is_(None) | (INVITES.c.uses < INVITES.c.max_uses),
                    )
                    .values(uses=INVITES.c.uses + 1)
                    .returning(*INVITES.c)
                )
            ).first()
            if row is not None:
                return self._invite(row)
            current = (await conn.execute(select(INVITES).where(INVITES.c.code == code))).first()
        if current is None:
            raise InviteError("invite_not_found", "no such invite")
        if current.expires_at is not None and current.expires_at <= now_ms:
            raise InviteError("invite_expired", "this invite has expired")
        raise InviteError("invite_used_up", "this invite has been used up")
