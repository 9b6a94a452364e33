"""Group commit: every sequenced event waits here for one durable batch write.

Rooms enqueue synchronously (no await on the op path) with a callback; one task writes
whatever accumulated while the previous write ran, in one transaction, then runs the
callbacks in enqueue order, so each room sees its commits in ``seq`` order. A failed write
is retried with backoff and nothing is acknowledged until it lands: an ack always means
durable.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

from cosession.store.store import PendingEvent, SnapshotWrite, Store

log = structlog.get_logger("cosession.commit")

OnCommit = Callable[[], None]


class GroupCommitter:
    def __init__(self, store: Store, *, max_batch: int = 5000) -> None:
        self._store = store
        self._max_batch = max_batch
        self._events: list[tuple[PendingEvent, OnCommit, OnCommit | None]] = []
        self._snapshots: list[SnapshotWrite] = []
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.healthy = True
        self.batches = 0
        self.committed = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="group-commit")

    async def stop(self) -> None:
        """Write everything still queued, then stop."""
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def enqueue(self, item: PendingEvent, on_commit: OnCommit, on_refused: OnCommit | None = None) -> None:
        """``on_commit`` runs once the item is durable; ``on_refused`` if the log refused it
        as stale (sequenced under an epoch the room no longer has; cluster only)."""
        self._events.append((item, on_commit, on_refused))
        self._idle.clear()
        self._wakeup.set()

    def enqueue_snapshot(self, snapshot: SnapshotWrite) -> None:
        self._snapshots.append(snapshot)
        self._idle.clear()
        self._wakeup.set()

    @property
    def backlog(self) -> int:
        return len(self._events)

    async def flush(self) -> None:
        """Wait until everything enqueued so far has been written."""
        await self._idle.wait()

    async def _run(self) -> None:
        backoff = 0.05
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._events or self._snapshots:
                batch = self._events[: self._max_batch]
                snapshots = self._snapshots
                self._snapshots = []
                try:
                    refused = await self._store.append([item for item, _, _ in batch], snapshots)
                except Exception:  # the database is down or refused the batch: retry, ack nothing
                    self.healthy = False
                    self._snapshots = snapshots + self._snapshots
                    log.exception("group commit failed, retrying", batch=len(batch), backoff=backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
                    continue
                backoff = 0.05
                self.healthy = True
                del self._events[: len(batch)]
                self.batches += 1
                self.committed += len(batch)
                refused_ids = {id(item) for item in refused}
                for item, on_commit, on_refused in batch:
                    try:
                        if id(item) not in refused_ids:
                            on_commit()
                        elif on_refused is not None:
                            on_refused()
                    except Exception:  # one room's bug must not stall every other room
                        log.exception("commit callback failed")
            self._idle.set()
