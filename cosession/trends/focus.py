"""Which products each room looked at, recorded anonymously and cheaply for trends.

A focus signal costs the gateway one set lookup: only the first focus of a product in a
room (per node) queues a ``(room, product, time)`` row, and a background task writes the
queue every ``flush_every`` seconds in one insert-if-absent batch. No member id is kept
anywhere. Memory is bounded (``max_known`` remembered pairs, ``max_per_room`` products
per room, ``max_pending`` queued rows: past them, new pairs are dropped, which only
under-counts "viewed together"). Several nodes insert the same pair harmlessly.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from cosession.tenants.store import engine_of
from cosession.trends.models import RoomFocusRow

log = structlog.get_logger("cosession.trends")
FOCUS: sa.Table = RoomFocusRow.__table__  # type: ignore[attr-defined]
MAX_PRODUCT_ID = 128


class FocusRecorder:
    def __init__(
        self,
        store: object,
        *,
        flush_every: float = 2.0,
        max_known: int = 200_000,
        max_per_room: int = 200,
        max_pending: int = 20_000,
    ) -> None:
        self._store = store
        self.flush_every = flush_every
        self.max_known = max_known
        self.max_per_room = max_per_room
        self.max_pending = max_pending
        self._known: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._per_room: dict[str, int] = {}
        self._pending: list[dict[str, object]] = []
        self._task: asyncio.Task[None] | None = None
        self.written = 0
        self.dropped = 0

    def seen(self, room_id: str, product_id: str) -> None:
        """A member of ``room_id`` focused ``product_id`` (no I/O, never raises)."""
        key = (room_id, product_id)
        if key in self._known:
            return
        count = self._per_room.get(room_id, 0)
        if count >= self.max_per_room or len(self._pending) >= self.max_pending or len(product_id) > MAX_PRODUCT_ID:
            self.dropped += 1
            return
        self._known[key] = None
        self._per_room[room_id] = count + 1
        while len(self._known) > self.max_known:
            (old_room, _), _ = self._known.popitem(last=False)
            left = self._per_room.get(old_room, 1) - 1
            if left > 0:
                self._per_room[old_room] = left
            else:
                self._per_room.pop(old_room, None)
        self._pending.append({"room_id": room_id, "product": product_id, "first_ts": int(time.time() * 1000)})

    def forget(self, room_id: str) -> None:
        """``room_id`` was deleted: drop its queued rows and remembered pairs, so a later
        flush does not write them back."""
        self._pending = [row for row in self._pending if row["room_id"] != room_id]
        if self._per_room.pop(room_id, None) is not None:
            for key in [k for k in self._known if k[0] == room_id]:
                del self._known[key]

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="focus-recorder")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_every)
            await self.flush()

    async def flush(self) -> None:
        """Write what is queued; on a database error keep it for the next round."""
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        try:
            engine = engine_of(self._store)
            assert isinstance(engine, AsyncEngine)
            insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
            statement = insert(FOCUS).on_conflict_do_nothing(index_elements=["room_id", "product"])
            async with engine.execution_options(cosession_write=True).begin() as conn:
                await conn.execute(statement, rows)
        except asyncio.CancelledError:  # stopping mid-write: keep the rows for the last flush
            self._pending = (rows + self._pending)[: self.max_pending]
            raise
        except Exception as exc:
            log.warning("focus rows not written yet", rows=len(rows), error=repr(exc))
            self._pending = (rows + self._pending)[: self.max_pending]
            return
        self.written += len(rows)
