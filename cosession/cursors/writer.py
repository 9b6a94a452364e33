"""Writes read cursors to the database in the background, coalesced.

``put`` never awaits: it keeps the largest seq per (room, member) in a pending map, and
one task writes the whole map in one transaction ``delay`` seconds after the first put
(the cursors moved meanwhile are written with it), then the next map. A member who sends
``read`` a hundred times while a write is in flight costs one row in the next write, so
flooding ``read`` cannot queue work (the pending map holds one entry per member). A
failed write is retried with backoff; its cursors merge with newer ones (the larger wins).
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from cosession.cursors.store import CursorStore

log = structlog.get_logger("cosession.cursors")


class CursorWriter:
    def __init__(self, store: CursorStore, *, delay: float = 0.25, max_backoff: float = 2.0) -> None:
        self.store = store
        self.delay = delay
        self._pending: dict[tuple[str, str], int] = {}
        self._task: asyncio.Task[None] | None = None
        self._max_backoff = max_backoff
        self.writes = 0  # transactions written (tests and metrics)
        self.failures = 0

    def put(self, room: str, member: str, seq: int) -> None:
        key = (room, member)
        if seq > self._pending.get(key, -1):
            self._pending[key] = seq
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        backoff = 0.05
        while self._pending:
            await asyncio.sleep(self.delay)  # gather the moves of the next moment into one write
            batch, self._pending = self._pending, {}
            try:
                await self.store.advance(batch)
                self.writes += 1
                backoff = 0.05
            except Exception as exc:  # the database is away: keep them, retry later
                self.failures += 1
                log.warning("read cursors not written: retrying", error=repr(exc), cursors=len(batch))
                for key, seq in batch.items():
                    if seq > self._pending.get(key, -1):
                        self._pending[key] = seq
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)

    async def flush(self, timeout: float = 5.0) -> None:
        """Wait (bounded) until every cursor put so far is written."""
        async with asyncio.timeout(timeout):
            while self._task is not None and not self._task.done():
                await asyncio.shield(self._task)

    async def aclose(self) -> None:
        with contextlib.suppress(TimeoutError, Exception):
            await self.flush(2.0)
        if self._task is not None and not self._task.done():
            self._task.cancel()
