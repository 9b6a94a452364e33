"""The node's webhook parts, wired once: store, delivery worker, stats, API limiter.

``Services.webhooks`` holds one; ``app.py`` starts and stops it in the lifespan, like
the group committer. Rooms report a member whose last connection left after the
presence grace through ``member_left`` (not a log event): its outbox row is written in
a transaction of its own, retried a few times, never on the room's path.
"""

from __future__ import annotations

import asyncio
import os
import socket

import structlog

from cosession.config import Settings
from cosession.http.ratelimit import AddressLimiter
from cosession.store.store_sql import SqlStore
from cosession.webhooks.schedule import RetrySchedule
from cosession.webhooks.store import WebhookStore
from cosession.webhooks.worker import DeliveryWorker, WebhookStats, WorkerConfig

log = structlog.get_logger("cosession.webhooks")

_LEFT_TRIES = 5


def schedule_from(settings: Settings) -> RetrySchedule:
    return RetrySchedule(
        retries=settings.webhook_retries,
        base=settings.webhook_retry_base,
        factor=settings.webhook_retry_factor,
        cap=settings.webhook_retry_cap,
    )


class WebhookService:
    def __init__(self, settings: Settings, store: SqlStore) -> None:
        self.settings = settings
        self.store = WebhookStore(store)
        self.stats = WebhookStats()
        self.schedule = schedule_from(settings)
        node = settings.node_id or f"{socket.gethostname()}-{os.getpid()}"
        self.worker = DeliveryWorker(
            self.store,
            WorkerConfig(
                node=node,
                schedule=self.schedule,
                timeout=settings.webhook_timeout,
                concurrency=max(1, settings.webhook_concurrency),
                lease=settings.webhook_lease,
                poll=settings.webhook_poll,
                log_days=settings.webhook_log_days,
            ),
            self.stats,
        )
        self.api_limiter = AddressLimiter(settings.webhooks_api_per_minute)  # keyed by tenant id
        self._tasks: set[asyncio.Task[None]] = set()
        store.on_outbox = self.worker.enqueued

    async def start(self) -> None:
        if self.settings.webhook_concurrency > 0:
            if self.store.store.is_sqlite:
                await self.store.release_leases()  # one process per SQLite file: any lease is a dead one's
            self.worker.start()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.worker.stop()

    def member_left(self, room: str, member: str, name: str, pos: int, ts: int, key: str) -> None:
        """A member's presence ended (grace over, or their node died): enqueue ``member.left``."""
        task = asyncio.create_task(self._member_left(room, member, name, pos, ts, key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _member_left(self, room: str, member: str, name: str, pos: int, ts: int, key: str) -> None:
        delay = 0.2
        for attempt in range(_LEFT_TRIES):
            try:
                await self.store.enqueue_member_left(room, member, name, pos, ts, key)
                return
            except Exception:
                if attempt == _LEFT_TRIES - 1:
                    log.exception("could not enqueue member.left", room=room, member=member)
                    return
            await asyncio.sleep(delay)
            delay *= 2
