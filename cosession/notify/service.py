"""The node's notification parts, wired once: store, VAPID key, worker, REST limiter.

``Services.notify`` holds one; ``app.py`` starts and stops it in the lifespan. The store
learns the quiet window and wakes the worker when a commit wrote push rows.
"""

from __future__ import annotations

import os
import socket

import structlog

from cosession.config import Settings
from cosession.extras import push_available
from cosession.http.ratelimit import AddressLimiter
from cosession.notify.store import NotifyStore
from cosession.notify.vapid import VapidKey, deployment_key
from cosession.notify.worker import NotifyConfig, NotifyStats, NotifyWorker
from cosession.store.store_sql import SqlStore
from cosession.webhooks.service import schedule_from

log = structlog.get_logger("cosession.notify")


class NotifyService:
    def __init__(self, settings: Settings, store: SqlStore) -> None:
        self.settings = settings
        self.sql = store
        self.store = NotifyStore(store)
        self.stats = NotifyStats()
        self.key: VapidKey | None = None
        node = settings.node_id or f"{socket.gethostname()}-{os.getpid()}"
        self.worker = NotifyWorker(
            self.store,
            NotifyConfig(
                node=node,
                quiet_ms=int(settings.notify_quiet * 1000),
                subject=settings.push_subject,
                ttl=settings.push_ttl,
                timeout=settings.push_timeout,
                concurrency=max(1, settings.push_concurrency),
                poll=settings.notify_poll,
                schedule=schedule_from(settings),
                log_days=settings.webhook_log_days,
            ),
            self.stats,
        )
        self.limiter = AddressLimiter(settings.notify_api_per_minute)  # keyed by room + member
        store.notify_quiet_ms = int(settings.notify_quiet * 1000)
        store.on_push = self.worker.wake

    async def start(self) -> None:
        """Load the VAPID key (when the ``push`` extra is installed) and start the worker:
        it sends digests whether or not Web Push is available."""
        if push_available():
            self.key = await deployment_key(self.sql, self.settings.push_vapid_key)
        else:
            log.warning("Web Push disabled: pip install 'cosession[push]'")
        if self.sql.is_sqlite:
            await self.store.release_leases()
        self.worker.start(self.key if self.settings.push_concurrency > 0 else None)

    async def stop(self) -> None:
        await self.worker.stop()
