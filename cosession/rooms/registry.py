"""The rooms this process has in memory: create, load on first use, unload when idle.

Loading is single-flight per room (concurrent joins share one load), and a room leaves
memory only when it has no connections and nothing waiting for a commit.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING, cast

import msgspec
import structlog

from cosession.auth import new_id
from cosession.config import Settings
from cosession.cursors.room_cursors import RoomCursors
from cosession.cursors.store import CursorStore
from cosession.cursors.writer import CursorWriter
from cosession.hub.hub import Hub
from cosession.metrics.counters import Metrics
from cosession.rooms.room import MemberLeft, Room, RoomExtension, now_ms
from cosession.store.committer import GroupCommitter
from cosession.store.store import LoadedRoom, PendingEvent, RoomRecord, Store
from protocol.codec import JSON, MSGPACK
from protocol.messages import Event, RoomCreate, RoomState, StoreContext
from protocol.reducer import apply

if TYPE_CHECKING:  # cluster mode only (the [cluster] extra): imported when a cluster room is made
    from cosession.hub.hub_redis import RedisHub
    from cosession.rooms.room_cluster import ClusterRoom

log = structlog.get_logger("cosession.rooms")
_encoder = msgspec.msgpack.Encoder()


class RoomRegistry:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        hub: Hub,
        committer: GroupCommitter,
        redis_hub: RedisHub | None = None,
    ) -> None:
        self.redis_hub = redis_hub
        self.settings = settings
        self.store = store
        self.hub = hub
        self.committer = committer
        self.rooms: dict[str, Room] = {}
        self.metrics = Metrics()  # Services replaces it with the server's own
        self._loading: dict[str, asyncio.Task[Room | None]] = {}
        self._unload_timers: dict[str, asyncio.TimerHandle] = {}
        # webhooks: a member's presence ended (cosession/webhooks/service.py)
        self.on_member_left: MemberLeft | None = None
        self.extension: RoomExtension | None = None  # set once at wiring (cosession/retail)
        self.cursor_writer = CursorWriter(CursorStore(store))  # read cursors (SPEC 15)

    async def create(
        self, name: str, owner: str, owner_name: str, tenant: str | None = None, store: StoreContext | None = None
    ) -> Room:
        room_id = new_id("r")
        record = RoomRecord(id=room_id, epoch=secrets.token_hex(8), created_at=now_ms(), tenant=tenant)
        first = Event(
            seq=1,
            ts=record.created_at,
            by="",
            op=RoomCreate(name=name, owner=owner, owner_name=owner_name, store=store),
        )
        await self.store.create_room(
            record, PendingEvent(room_id=room_id, event=first, ref=None, body=_encoder.encode(first))
        )
        state = apply(RoomState(), first)
        if self.redis_hub is not None:
            await self.redis_hub.seed(room_id, record.epoch, 1)
        room = self._install(LoadedRoom(record=record, state=state, head=1, history=[first], refs=[]))
        if self.redis_hub is not None:  # a ClusterRoom (see _install)
            await cast("ClusterRoom", room).open()
        self._schedule_unload(room)
        return room

    async def get(self, room_id: str) -> Room | None:
        room = self.rooms.get(room_id)
        if room is not None:
            self._cancel_unload(room_id)
            return room
        task = self._loading.get(room_id)
        if task is None:
            task = asyncio.create_task(self._load(room_id))
            self._loading[room_id] = task
            task.add_done_callback(lambda _t: self._loading.pop(room_id, None))
        room = await asyncio.shield(task)
        if room is not None:
            self._cancel_unload(room_id)
        return room

    async def _load(self, room_id: str) -> Room | None:
        loaded = await self.store.load_room(
            room_id, history=self.settings.history_events, idempotency=self.settings.idempotency_events
        )
        if loaded is None:
            return None
        existing = self.rooms.get(room_id)
        if existing is not None:  # pragma: no cover - guarded by single-flight
            return existing
        room = self._install(loaded)
        if self.redis_hub is not None:  # a ClusterRoom (see _install)
            try:
                await cast("ClusterRoom", room).open()
            except Exception:
                room.unload()
                self.rooms.pop(room_id, None)
                raise
        log.info("room loaded", room=room_id, head=room.head)
        self._schedule_unload(room)
        return room

    def _install(self, loaded: LoadedRoom) -> Room:
        room: Room
        if self.redis_hub is not None:
            from cosession.rooms.room_cluster import ClusterRoom

            room = ClusterRoom(
                loaded,
                settings=self.settings,
                redis_hub=self.redis_hub,
                store=self.store,
                committer=self.committer,
                on_empty=self._schedule_unload,
            )
            room.metrics = self.metrics
            room.on_member_left = self.on_member_left
            room.extension = self.extension
            room.cursors = self._cursors(room.id)
            self.rooms[room.id] = room
            return room
        room = Room(
            loaded,
            settings=self.settings,
            hub=self.hub,
            committer=self.committer,
            codecs=(MSGPACK, JSON),
            on_empty=self._schedule_unload,
        )
        room.metrics = self.metrics
        room.on_member_left = self.on_member_left
        room.extension = self.extension
        room.cursors = self._cursors(room.id)
        self.rooms[room.id] = room
        return room

    def _cursors(self, room_id: str) -> RoomCursors:
        return RoomCursors(room_id, self.cursor_writer, scan_max=self.settings.unread_scan_max)

    def release(self, room: Room) -> None:
        """A caller that used ``room`` without joining it (REST) is done: unless someone is
        connected, it leaves memory after the idle delay (``get`` had cancelled that)."""
        if not room.connections and self.rooms.get(room.id) is room:
            self._schedule_unload(room)

    def _schedule_unload(self, room: Room) -> None:
        self._cancel_unload(room.id)
        loop = asyncio.get_running_loop()
        self._unload_timers[room.id] = loop.call_later(self.settings.room_idle_unload, self._try_unload, room.id)

    def _cancel_unload(self, room_id: str) -> None:
        timer = self._unload_timers.pop(room_id, None)
        if timer is not None:
            timer.cancel()

    def _try_unload(self, room_id: str) -> None:
        self._unload_timers.pop(room_id, None)
        room = self.rooms.get(room_id)
        if room is None:
            return
        if not room.idle:
            self._schedule_unload(room)
            return
        room.unload()
        del self.rooms[room_id]
        log.info("room unloaded", room=room_id)

    def evict(self, room_id: str, code: int, reason: str) -> None:
        """Drop a room from memory now (its data was purged): its connections are closed."""
        self._cancel_unload(room_id)
        room = self.rooms.pop(room_id, None)
        if room is not None:
            room.close_all(code, reason)
            room.unload()

    def close_all(self, code: int, reason: str) -> None:
        for room in self.rooms.values():
            room.close_all(code, reason)

    def stop(self) -> None:
        for timer in self._unload_timers.values():
            timer.cancel()
        self._unload_timers.clear()
        for room in self.rooms.values():
            room.unload()
        self.rooms.clear()
