"""A node's cluster duties, beside its rooms: heartbeat, failure detection, position
checks and the archiver.

* Heartbeat: ``cosession:node:<id>`` with a TTL of ``node_ttl``, refreshed three times per
  TTL. Survivors drop the members of a node whose key expired (presence converges within
  ``node_ttl`` + one sweep). Each heartbeat also reconciles every loaded room's presence
  with Redis (``ClusterPresence.reconcile``): lost presence writes or publishes, on this
  node or another, converge within a heartbeat once Redis answers.
* Position check (every second): each loaded room compares its head with Redis's offset
  and epoch, which catches a lost last message or a silently dead subscription.
* Archiver (every few seconds): events the stream has and the SQL log lacks (a node died
  between sequencing and writing) are written, so the log has no holes.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from cosession.config import Settings
from cosession.hub.hub_redis import REDIS_FAILURES, HubUnavailable, RedisHub
from cosession.rooms.registry import RoomRegistry
from cosession.rooms.room_cluster import ClusterRoom, node_key

log = structlog.get_logger("cosession.cluster")


class ClusterNode:
    def __init__(self, settings: Settings, hub: RedisHub, registry: RoomRegistry) -> None:
        self.settings = settings
        self.hub = hub
        self.registry = registry
        self._tasks: list[asyncio.Task[None]] = []
        self._archived: dict[str, int] = {}
        self._seen: dict[str, int] = {}

    @property
    def ready(self) -> bool:
        return self.hub.ready

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._every(self.settings.node_ttl / 3, self._heartbeat), name="heartbeat"),
            asyncio.create_task(self._every(1.0, self._sweep), name="sweep"),
            asyncio.create_task(self._every(3.0, self._archive), name="archiver"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await self.hub.redis.delete(node_key(self.hub.node_id))

    async def _every(self, interval: float, job: Any) -> None:
        while True:
            try:
                if self.hub.ready:
                    await job()
            except (HubUnavailable, OSError, ConnectionError) as exc:
                log.debug("cluster job skipped", job=job.__name__, error=str(exc))
            except Exception:
                log.exception("cluster job failed", job=job.__name__)
            await asyncio.sleep(interval)

    def _rooms(self) -> list[ClusterRoom]:
        return [room for room in self.registry.rooms.values() if isinstance(room, ClusterRoom)]

    async def _heartbeat(self) -> None:
        await self.hub.redis.set(node_key(self.hub.node_id), b"1", px=int(self.settings.node_ttl * 1000))
        alive: dict[str, bool] = {}
        for room in self._rooms():
            await room.relay_placement.heartbeat()  # the call relay's key lives as long as the node's
            try:
                alive = await room.online.reconcile(alive)
            except (HubUnavailable, *REDIS_FAILURES) as exc:
                log.debug("presence reconcile skipped", room=room.id, error=str(exc))

    async def _sweep(self) -> None:
        rooms = self._rooms()
        if not rooms:
            return
        # dead nodes
        nodes = sorted({node for room in rooms for node in room.remote if node != self.hub.node_id})
        if nodes:
            alive: Any = await self.hub.redis.mget([node_key(n) for n in nodes])
            for node, flag in zip(nodes, alive, strict=True):
                if flag is None:
                    log.warning("node heartbeat expired: dropping its members", dead_node=node)
                    for room in rooms:
                        if node in room.remote:
                            room.drop_node(node)
        # positions
        for room in rooms:
            epoch, offset, _ = await self.hub.room_position(room.id)
            if epoch != room.epoch or offset > room.head:
                room.schedule_repair()

    async def _archive(self) -> None:
        # Only what was applied before the previous sweep: newer events are usually still
        # on their way to the log through their writer's own group commit.
        for room in self._rooms():
            upto = self._seen.get(room.id, 0)
            self._seen[room.id] = room.head
            after = self._archived.get(room.id, max(0, upto - self.settings.history_events))
            if upto <= after:
                continue
            entries = await self.hub.read_stream(room.id, after=after, upto=upto)
            if entries:
                stored = await room.archive(entries)
                if stored:
                    log.warning("archiver stored events missing from the log", room=room.id, count=stored)
            self._archived[room.id] = upto
