"""Live queue feeds: one reader per tenant and node, fanning queue changes out to streams.

A feed keeps a cursor into ``help_changes`` and re-reads the database after it whenever it
is woken (a commit on this node, or a notification from another node through the hub) and
at least every ``poll`` seconds, so a lost notification delays a change, never loses it.
Notifications carry nothing: the database is the truth, and a stream that reconnects with
``Last-Event-ID`` reads what it missed from there (``backlog``).

Each stream has a bounded queue; a stream that falls that far behind is ended (``None``)
and its client reconnects with its last event id, losing nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

from cosession.help.queue_store import HelpStore, Row

log = structlog.get_logger("cosession.help")

Change = tuple[int, str, Row]  # (change id, kind, the request's row)
STREAM_QUEUE = 1000  # changes buffered per stream
READ_BATCH = 500


class Subscription:
    def __init__(self, feed: TenantFeed) -> None:
        self.feed = feed
        self.queue: asyncio.Queue[Change | None] = asyncio.Queue(STREAM_QUEUE + 1)
        self.start = feed.cursor  # the feed delivers every change after this one

    def put(self, change: Change | None) -> bool:
        if self.queue.qsize() >= STREAM_QUEUE:
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(None)  # too far behind: end; the client resumes from its last id
            return False
        self.queue.put_nowait(change)
        return True

    def close(self) -> None:
        self.feed.unsubscribe(self)


class TenantFeed:
    def __init__(self, tenant: str, store: HelpStore, poll: float, on_idle: Callable[[TenantFeed], None]) -> None:
        self.tenant = tenant
        self.store = store
        self.poll = poll
        self.cursor = 0
        self.subscribers: set[Subscription] = set()
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._on_idle = on_idle
        self._task = asyncio.create_task(self._run(), name=f"help-feed-{tenant}")

    async def ready(self) -> None:
        await self._ready.wait()

    def wake(self) -> None:
        self._wake.set()

    def subscribe(self) -> Subscription:
        sub = Subscription(self)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self.subscribers.discard(sub)
        if not self.subscribers:
            self._on_idle(self)

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        for sub in list(self.subscribers):
            sub.put(None)

    async def _run(self) -> None:
        while not self._ready.is_set():
            try:
                self.cursor = await self.store.cursor(self.tenant)
                self._ready.set()
            except Exception as exc:  # the database is away: try again
                log.warning("help feed cannot start", tenant=self.tenant, error=repr(exc))
                await asyncio.sleep(self.poll)
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._read()
            except Exception as exc:
                log.warning("help feed read failed", tenant=self.tenant, error=repr(exc))

    async def _read(self) -> None:
        for _ in range(100):  # bounded: at most 50,000 changes per wake-up
            changes = await self.store.changes_after(self.tenant, self.cursor, READ_BATCH)
            for change in changes:
                self.cursor = change[0]
                for sub in list(self.subscribers):
                    if not sub.put(change):
                        self.subscribers.discard(sub)
            if len(changes) < READ_BATCH:
                return


class HelpFeeds:
    """The feeds of this node, one per tenant with at least one open stream."""

    def __init__(self, store: HelpStore, poll: float, on_first: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.poll = poll
        self.feeds: dict[str, TenantFeed] = {}
        self.on_first = on_first  # a tenant got its first stream here (subscribe to its notifications)
        self.on_last: Callable[[str], None] | None = None

    async def subscribe(self, tenant: str) -> Subscription:
        feed = self.feeds.get(tenant)
        if feed is None:
            feed = TenantFeed(tenant, self.store, self.poll, self._idle)
            self.feeds[tenant] = feed
            if self.on_first is not None:
                self.on_first(tenant)
        sub = feed.subscribe()
        await feed.ready()
        sub.start = feed.cursor
        return sub

    def _idle(self, feed: TenantFeed) -> None:
        if self.feeds.get(feed.tenant) is feed and not feed.subscribers:
            del self.feeds[feed.tenant]
            feed._task.cancel()
            if self.on_last is not None:
                self.on_last(feed.tenant)

    def wake(self, tenant: str) -> None:
        feed = self.feeds.get(tenant)
        if feed is not None:
            feed.wake()

    async def stop(self) -> None:
        for feed in list(self.feeds.values()):
            await feed.stop()
        self.feeds.clear()
