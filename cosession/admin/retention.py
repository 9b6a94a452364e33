"""The retention sweeper: per tenant policy, close rooms idle past ``close_after`` and
purge closed rooms ``purge_after`` later. Runs on every node (started in the app's
lifespan); several nodes sweeping at once is safe: the close is a server op idempotent by
its ref (``retention:close``) and refused as a no-op once the room is closed, the closure
row is insert-if-absent, and a purge deletes only under its closure row, in one
transaction.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from cosession.admin import actions
from cosession.admin.store import AdminStore
from cosession.http.errors import ApiError
from cosession.services import Services

log = structlog.get_logger("cosession.retention")
BATCH = 100  # rooms closed / purged per tenant per sweep


class RetentionSweeper:
    def __init__(self, services: Services, store: AdminStore) -> None:
        self.services = services
        self.store = store
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.services.settings.retention_sweep_seconds > 0:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.services.settings.retention_sweep_seconds)
            try:
                await self.sweep()
            except Exception as exc:  # a database hiccup: try again next time
                log.warning("retention sweep failed", error=repr(exc))

    async def sweep(self) -> tuple[int, int]:
        """One pass over every tenant's policy: (rooms closed, rooms purged)."""
        closed = purged = 0
        now = actions.now_ms()
        for tenant, policy in (await self.store.policies()).items():
            for room_id in await self.store.idle_rooms(tenant, now - policy.close_after, BATCH):
                try:
                    await actions.close_room(self.services, self.store, room_id, "retention", ref="retention:close")
                    closed += 1
                except ApiError as exc:
                    log.info("retention: room not closed", room=room_id, code=exc.code)
            for room_id in await self.store.purgeable_rooms(tenant, now - policy.purge_after, BATCH):
                try:
                    await actions.purge_room(self.services, self.store, room_id)
                    purged += 1
                except ApiError as exc:  # another node purged it first
                    log.info("retention: room not purged", room=room_id, code=exc.code)
        if closed or purged:
            log.info("retention sweep", closed=closed, purged=purged)
        return closed, purged
