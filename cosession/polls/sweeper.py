"""The poll deadline sweeper: sequences ``poll.close`` when a poll's deadline passes
(SPEC 17.5). Runs on every node (started in the app's lifespan).

Each pass leases the due rows (``DeadlineStore.claim``), loads each room if this node has
not, and submits ``poll.close`` as a server op with ref ``poll.close:<room>:<poll>``
(``Room.submit_server``): a second node, or this one retrying after a crash, gets the
same seq back or a ``poll_closed`` refusal, never a second event. The row is deleted
once the close is durable (or the poll does not exist). Between passes the sweeper
sleeps until the next claimable row (read from the table) or ``poll_sweep_seconds``,
whichever is sooner, and a commit of a ``poll.create`` on this node wakes it
(``wake``), so a close lands within a few hundred ms of its deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time

import structlog

from cosession.hub.hub import HubUnavailable
from cosession.polls.deadlines import DeadlineStore, Due
from cosession.rooms.room import Room
from cosession.services import Services
from protocol.errors import ErrorCode
from protocol.messages import PollClose
from protocol.polls import find_poll, tally, winner

log = structlog.get_logger("cosession.polls")
BATCH = 50  # rows leased per pass
LEASE_MS = 10_000  # a node killed while closing delays that close by at most this
DONE_CODES = (ErrorCode.POLL_CLOSED, ErrorCode.ROOM_CLOSED)


def close_ref(room_id: str, poll: int) -> str:
    ref = f"poll.close:{room_id}:{poll}"
    return ref if len(ref) <= 64 else f"poll.close:{poll}"  # refs are at most 64 chars


def now_ms() -> int:
    return int(time.time() * 1000)


class PollSweeper:
    def __init__(self, services: Services, store: DeadlineStore) -> None:
        self.services = services
        self.store = store
        self.node = services.settings.node_id or f"{socket.gethostname()}-{os.getpid()}"
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._next_at: float = 0.0  # ms: when the loop means to wake next
        self._hint: int | None = None  # a deadline stored here since the last read of the table
        self.closed = 0  # poll.close sequenced (or found done) by this node

    def start(self) -> None:
        if self.services.settings.poll_sweep_seconds > 0:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self, deadline: int) -> None:
        """A poll with ``deadline`` is being stored: make sure the loop wakes by then (told
        inside the storing transaction, so the table may not show the row yet)."""
        self._hint = deadline if self._hint is None else min(self._hint, deadline)
        if deadline < self._next_at:
            self._wake.set()

    async def _run(self) -> None:
        interval = self.services.settings.poll_sweep_seconds
        while True:
            next_due: int | None = None
            try:
                await self.sweep()
                next_due = await self.store.next_due()
            except Exception as exc:  # a database hiccup: try again next time
                log.warning("poll sweep failed", error=repr(exc))
            hint, self._hint = self._hint, None
            if hint is not None:
                next_due = hint if next_due is None else min(next_due, hint)
            now = now_ms()
            wait = interval if next_due is None else min(interval, max(0.0, (next_due - now) / 1000))
            wait = max(wait, 0.02)  # a row due now that we could not lease: no busy loop
            self._next_at = now + wait * 1000
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
                # woken early: sleep until the new deadline (the loop reads it again)

    async def sweep(self) -> int:
        """One pass: close every due poll this node could lease. Returns how many."""
        if self.services.draining:
            return 0
        closed = 0
        for due in await self.store.claim(self.node, now_ms(), LEASE_MS, BATCH):
            try:
                if await self.fire(due):
                    await self.store.done(due.room_id, due.poll)
                    closed += 1
            except Exception as exc:  # left leased: another pass (here or elsewhere) retries it
                log.warning("poll close failed", room=due.room_id, poll=due.poll, error=repr(exc))
        self.closed += closed
        return closed

    async def fire(self, due: Due) -> bool:
        """Sequence the poll's close; True when nothing is left to do for it."""
        registry = self.services.registry
        try:
            room = await registry.get(due.room_id)
        except HubUnavailable:
            return False
        if room is None:  # purged
            return True
        try:
            return await self._close(room, due)
        finally:
            registry.release(room)

    async def _close(self, room: Room, due: Due) -> bool:
        poll = find_poll(room.state, due.poll)
        counts = tally(poll) if poll is not None else []
        body = PollClose(poll=due.poll, tally=counts, winner=winner(counts))
        seq, rejection = await room.submit_server(close_ref(room.id, due.poll), body)
        if rejection is None:
            log.info("poll closed", room=room.id, poll=due.poll, seq=seq)
            return True
        if rejection.code in DONE_CODES:
            return True
        # not_found: gone for good only once this replica has folded past the create
        return rejection.code == ErrorCode.NOT_FOUND and room.head >= due.poll
