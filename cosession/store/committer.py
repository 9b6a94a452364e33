"""Group commit: every sequenced event waits here for one durable batch write.

Rooms enqueue synchronously (no await on the op path) with a callback; one task writes
whatever accumulated while the previous write ran, in one transaction, then runs the
callbacks in enqueue order, so each room sees its commits in ``seq`` order. A failed write
is retried with backoff and nothing is acknowledged until it lands: an ack always means
durable.

One bad row never blocks the others: when the store answers ``UnstorableError`` (the data
itself is refused, e.g. U+0000 in a text column; a database that is down, locked or
read-only is a plain retry), the batch is bisected until the refused events are alone,
everything else is committed, and each refused event's ``on_unstorable`` runs. An
embedded room's event (no ``epoch``: the room's own sequencer gave it its seq) is
replaced by a ``log.gap`` at the same seq so the log stays contiguous; a cluster event
(Redis sequenced it and every replica folded it already) is left out of the SQL log
and logged: a re-seed marks the hole with a ``log.gap`` (docs/storage.md).

The queue is bounded (``max_queue`` events): while the database is down, rooms refuse
new ops with ``unavailable`` once it is ``full`` instead of growing without limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import msgspec
import structlog

from cosession.store.store import PendingEvent, SnapshotWrite, Store, UnstorableError
from protocol.messages import Event, LogGap

log = structlog.get_logger("cosession.commit")

OnCommit = Callable[[], None]
# called with the log.gap written in the event's place, or None if none was written
OnUnstorable = Callable[[Event | None], None]

_gap_encoder = msgspec.msgpack.Encoder()


def gap_for(item: PendingEvent) -> PendingEvent:
    """A ``log.gap`` by the server at ``item``'s seq: what the log holds instead of it."""
    event = Event(seq=item.event.seq, ts=item.event.ts, by="", op=LogGap())
    return PendingEvent(room_id=item.room_id, event=event, ref=None, body=_gap_encoder.encode(event))


class _Entry:
    __slots__ = ("item", "on_commit", "on_refused", "on_unstorable")

    def __init__(
        self, item: PendingEvent, on_commit: OnCommit, on_refused: OnCommit | None, on_unstorable: OnUnstorable | None
    ) -> None:
        self.item = item
        self.on_commit = on_commit
        self.on_refused = on_refused
        self.on_unstorable = on_unstorable


class GroupCommitter:
    def __init__(self, store: Store, *, max_batch: int = 5000, max_queue: int = 0) -> None:
        self._store = store
        self._max_batch = max_batch
        self.max_queue = max_queue  # 0: unbounded
        self._events: list[_Entry] = []
        self._snapshots: list[SnapshotWrite] = []
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.healthy = True
        self.batches = 0
        self.committed = 0
        self.unstorable = 0

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

    def enqueue(
        self,
        item: PendingEvent,
        on_commit: OnCommit,
        on_refused: OnCommit | None = None,
        on_unstorable: OnUnstorable | None = None,
    ) -> None:
        """``on_commit`` runs once the item is durable; ``on_refused`` if the log refused it
        as stale (sequenced under an epoch the room no longer has; cluster only);
        ``on_unstorable`` if the database can never store it (see the module docstring).
        Callers check ``full`` first: enqueue itself never refuses (the event already
        has its seq)."""
        self._events.append(_Entry(item, on_commit, on_refused, on_unstorable))
        self._idle.clear()
        self._wakeup.set()

    def enqueue_snapshot(self, snapshot: SnapshotWrite) -> None:
        self._snapshots.append(snapshot)
        self._idle.clear()
        self._wakeup.set()

    @property
    def backlog(self) -> int:
        return len(self._events)

    @property
    def full(self) -> bool:
        """The queue holds ``max_queue`` events: refuse new writes (``unavailable``)."""
        return 0 < self.max_queue <= len(self._events)

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
                items = [entry.item for entry in batch]
                try:
                    try:
                        refused = await self._store.append(items, snapshots)
                        bad: list[PendingEvent] = []
                        gaps: dict[int, Event] = {}
                    except UnstorableError:
                        refused, bad, gaps = await self._isolate(items, snapshots)
                except Exception:  # the database is down: retry, ack nothing
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
                self.committed += len(batch) - len(bad)
                self.unstorable += len(bad)
                self._callbacks(batch, refused, bad, gaps)
            self._idle.set()

    def _callbacks(
        self, batch: list[_Entry], refused: list[PendingEvent], bad: list[PendingEvent], gaps: dict[int, Event]
    ) -> None:
        refused_ids = {id(item) for item in refused}
        bad_ids = {id(item) for item in bad}
        for entry in batch:
            item = entry.item
            try:
                if id(item) in bad_ids:
                    if entry.on_unstorable is not None:
                        entry.on_unstorable(gaps.get(id(item)))
                elif id(item) not in refused_ids:
                    entry.on_commit()
                elif entry.on_refused is not None:
                    entry.on_refused()
            except Exception:  # one room's bug must not stall every other room
                log.exception("commit callback failed")

    async def _isolate(
        self, items: list[PendingEvent], snapshots: list[SnapshotWrite]
    ) -> tuple[list[PendingEvent], list[PendingEvent], dict[int, Event]]:
        """The batch held data the database refuses: commit everything else, find the
        refused events, write a log.gap in place of each embedded one. Returns (stale,
        unstorable, gaps by id of the unstorable item). Re-raises a non-data failure:
        the caller retries the whole batch (rewriting committed events is a no-op)."""
        if snapshots:
            try:
                await self._store.append([], snapshots)
            except UnstorableError:
                log.error("snapshots refused by the database, dropped", rooms=sorted({s.room_id for s in snapshots}))
        refused, bad = await append_isolating(self._store, items)
        gaps: dict[int, Event] = {}
        for item in bad:
            log.error(
                "event refused by the database: left out of the log",
                room=item.room_id,
                seq=item.event.seq,
                op=type(item.event.op).__name__,
                cluster=item.epoch is not None,
            )
            if item.epoch is not None:
                continue  # cluster: see the module docstring
            gap = gap_for(item)
            try:
                await self._store.append([gap], [])
            except UnstorableError:
                log.error("log.gap refused by the database too", room=item.room_id, seq=item.event.seq)
                continue
            gaps[id(item)] = gap.event
        return refused, bad, gaps


async def append_isolating(store: Store, items: list[PendingEvent]) -> tuple[list[PendingEvent], list[PendingEvent]]:
    """Write ``items``, bisecting on ``UnstorableError`` until each refused event is alone:
    (stale, unstorable). Everything else is committed. Other failures propagate."""
    if not items:
        return [], []
    try:
        return await store.append(items, []), []
    except UnstorableError:
        if len(items) == 1:
            return [], items
    mid = len(items) // 2
    stale_a, bad_a = await append_isolating(store, items[:mid])
    stale_b, bad_b = await append_isolating(store, items[mid:])
    return stale_a + stale_b, bad_a + bad_b


def storable_ref(ref: str | None) -> str | None:
    """A cluster event's ref as the SQL log keeps it: U+0000 (which no text column takes)
    replaced by U+FFFD. Redis sequenced the event and every replica folded it, so its
    body is kept exactly; only the lookup column differs (docs/storage.md)."""
    return ref.replace("\x00", "\ufffd") if ref is not None and "\x00" in ref else ref
