"""The help queue service: claims and closes (database first, then the room's log),
queue feeds with their cross-node wake-ups, and the service metrics.

* A claim is one conditional UPDATE (``state='open'``) in the shared database: exactly one
  associate wins across nodes. The winner's node then sequences ``help.claim`` into the
  room (idempotent by the ref ``help:claim:<seq>``) and issues the associate a member
  token with role ``associate`` for the room.
* Queue changes wake this node's feeds directly and other nodes' through the cluster hub
  (Redis pub/sub on the channel of the pseudo room ``help~<tenant>``); a feed also polls.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import structlog

from cosession.help.escalation import Escalator
from cosession.help.feed import HelpFeeds
from cosession.help.queue_store import Associate, HelpStore, HelpWrites, Row, now_ms
from cosession.help.stats import HelpStats
from cosession.hub.hub import HubUnavailable
from protocol.errors import ErrorCode
from protocol.messages import EventBody
from protocol.reducer import Rejection

if TYPE_CHECKING:
    from cosession.services import Services

log = structlog.get_logger("cosession.help")


def channel_of(tenant: str) -> str:
    return f"help~{tenant}"


class HelpService:
    def __init__(self, services: Services) -> None:
        self.services = services
        settings = services.settings
        self.store = HelpStore(services.store)
        self.stats = HelpStats()
        self.feeds = HelpFeeds(self.store, settings.help_poll_seconds, on_first=self._listen)
        self.feeds.on_last = self._unlisten
        self.escalator = Escalator(self)
        self._tasks: set[asyncio.Task[None]] = set()
        sql: Any = services.store  # SqlStore: the help rows are written with the events
        if hasattr(sql, "help_escalate_ms"):
            sql.help_escalate_ms = int(settings.help_escalate_seconds * 1000)
            sql.on_help = self.committed

    def start(self) -> None:
        self.escalator.start()

    async def stop(self) -> None:
        await self.escalator.stop()
        await self.feeds.stop()
        for task in list(self._tasks):
            task.cancel()

    # ---- wake-ups ---------------------------------------------------------------------

    def committed(self, writes: HelpWrites) -> None:
        """An event transaction changed the queue (store callback, after the commit)."""
        for store, department, where in writes.requested:
            self.stats.requested(store, department, where)
        for store, department, seconds in writes.answered:
            self.stats.answered(store, department, seconds)
        for tenant in writes.tenants:
            self.changed(tenant)

    def changed(self, tenant: str) -> None:
        """The tenant's queue changed here: wake our feed, tell the other nodes."""
        self.feeds.wake(tenant)
        cluster = self.services.cluster
        if cluster is not None:
            self._spawn(self._publish(tenant))

    async def _publish(self, tenant: str) -> None:
        cluster = self.services.cluster
        assert cluster is not None
        with contextlib.suppress(HubUnavailable):  # the other nodes' feeds poll anyway
            await cluster.hub.publish(channel_of(tenant), b"1")

    def _listen(self, tenant: str) -> None:
        cluster = self.services.cluster
        if cluster is not None:
            cluster.hub.subscribe(
                channel_of(tenant), lambda _data: self.feeds.wake(tenant), lambda: self.feeds.wake(tenant)
            )

    def _unlisten(self, tenant: str) -> None:
        cluster = self.services.cluster
        if cluster is not None:
            cluster.hub.unsubscribe(channel_of(tenant))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- room ops -----------------------------------------------------------------------

    async def room_op(self, room_id: str, ref: str, body: EventBody) -> Rejection | None:
        """Sequence a server op into the room (idempotent by ``ref``); its refusal, if any."""
        registry = self.services.registry
        try:
            room = await registry.get(room_id)
        except HubUnavailable as exc:
            return Rejection(ErrorCode.UNAVAILABLE, str(exc))
        if room is None:
            return Rejection(ErrorCode.ROOM_NOT_FOUND, "no such room")
        try:
            _seq, rejection = await room.submit_server(ref, body)
        finally:
            registry.release(room)
        return rejection

    # ---- claims -------------------------------------------------------------------------

    async def claim(self, associate: Associate, room_id: str, seq: int) -> tuple[str, Row | None]:
        """``("ok", row)`` for the winner, ``("again", row)`` when this associate already
        holds it; else ``("taken" | "closed" | "missing", row)``."""
        outcome, row = await self.store.claim(associate.tenant, room_id, seq, associate)
        if outcome == "ok" and row is not None:
            seconds = max(0.0, ((row.claimed_at or now_ms()) - row.created_at) / 1000)
            self.stats.claimed(row.store, row.department, associate.id, seconds)
            self.changed(associate.tenant)
        return outcome, row

    async def close(self, tenant: str, room_id: str, seq: int, associate: str | None) -> tuple[str, Row | None]:
        outcome, row = await self.store.close(tenant, room_id, seq, associate)
        if outcome == "ok":
            self.changed(tenant)
        return outcome, row
