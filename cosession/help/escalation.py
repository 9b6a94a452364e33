"""Escalation of unclaimed help requests: a timer that is an event too (DESIGN).

Every node sweeps every ``help_sweep_seconds``. A sweep leases due requests (``lease_owner``
and ``lease_until`` on the row, like the webhook outbox), sequences ``help.escalate
{request, level}`` into each room with the ref ``help:escalate:<seq>:<level>`` (so a
second node, or a retry after this node died mid-way, never escalates twice), then records
the new level and the next deadline and re-notifies the queue. Escalation stops at
``help_max_level``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import structlog

from cosession.help.queue_store import now_ms
from protocol.errors import ErrorCode
from protocol.messages import HelpEscalate

if TYPE_CHECKING:
    from cosession.help.service import HelpService

log = structlog.get_logger("cosession.help")
LEASE_MS = 30_000
BATCH = 50


class Escalator:
    def __init__(self, service: HelpService) -> None:
        self.service = service
        self._task: asyncio.Task[None] | None = None

    @property
    def owner(self) -> str:
        settings = self.service.services.settings
        return settings.node_id or "local"

    def start(self) -> None:
        if self.service.services.settings.help_sweep_seconds > 0:
            self._task = asyncio.create_task(self._run(), name="help-escalation")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.service.services.settings.help_sweep_seconds)
            try:
                await self.sweep()
            except Exception as exc:  # the database or Redis is away: next time
                log.warning("help escalation sweep failed", error=repr(exc))

    async def sweep(self) -> int:
        """One pass: how many requests escalated."""
        settings = self.service.services.settings
        wait_ms = int(settings.help_escalate_seconds * 1000)
        rows = await self.service.store.take_due(self.owner, LEASE_MS, BATCH, settings.help_max_level)
        done = 0
        for row in rows:
            level = row.level + 1
            rejection = await self.service.room_op(
                row.room_id, f"help:escalate:{row.seq}:{level}", HelpEscalate(request=row.seq, level=level)
            )
            if rejection is not None and rejection.code == ErrorCode.UNAVAILABLE:
                continue  # the lease runs out and a later sweep tries again
            if rejection is not None and rejection.code in (ErrorCode.ROOM_CLOSED, ErrorCode.ROOM_NOT_FOUND):
                await self.service.close(row.tenant, row.room_id, row.seq, None)  # nobody is there to help
                continue
            if await self.service.store.escalated(row, level, now_ms() + wait_ms, self.owner):
                self.service.stats.escalated(row.store, row.department)
                self.service.changed(row.tenant)
                done += 1
        return done
