"""A room served by one node of a cluster: Redis sequences, every node replicates.

Write path (see docs/cluster.md): the node checks the op against its replica, runs the
append script (idempotency, epoch and incarnation checks, next offset, stream, publish),
writes the event to the SQL log through the group committer and only then acks. It never
applies its own write early: every node, the writer included, folds events in offset
order as they come back from pub/sub. The ``Replica`` decides what each message means;
gaps are repaired from the stream (or the SQL log), a new epoch reloads the room and
sends its clients to take a snapshot.

Presence is per node: each node publishes its local members' changes and keeps every
node's entries in a Redis hash; members of a node whose heartbeat key expired are
dropped by the survivors.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Literal

import msgspec
import structlog

from cosession.config import Settings
from cosession.hub.hub_memory import MemoryHub
from cosession.hub.hub_redis import HubUnavailable, RedisHub, room_keys
from cosession.rooms.replica import Replica
from cosession.rooms.room import JoinRefused, Room, RoomConnection, now_ms
from cosession.store.committer import GroupCommitter, append_isolating, storable_ref
from cosession.store.store import LoadedRoom, PendingEvent, Store
from protocol.codec import JSON, MSGPACK
from protocol.errors import CloseCode, ErrorCode
from protocol.messages import (
    ClientOpBody,
    Error,
    Event,
    EventBody,
    FocusSignal,
    FollowSignal,
    LogGap,
    MemberJoin,
    PresenceMember,
    PresenceUpdate,
    ServerMessage,
    SignalRelay,
    TypingSignal,
)

log = structlog.get_logger("cosession.room.cluster")

_payload_encoder = msgspec.msgpack.Encoder()
_payload_decoder = msgspec.msgpack.Decoder(tuple[int, str, EventBody, str | None])
_event_encoder = msgspec.msgpack.Encoder()
_signal_decoder = msgspec.msgpack.Decoder(ServerMessage)
_presence_decoder = msgspec.msgpack.Decoder(tuple[str, str, PresenceMember])
_direct_decoder = msgspec.msgpack.Decoder(tuple[str, SignalRelay])
DIRECT_QUEUE_MAX = 4096  # relayed signals waiting for Redis, per room and node


def node_key(node_id: str) -> str:
    return f"cosession:node:{node_id}"


class ClusterRoom(Room):
    def __init__(
        self,
        loaded: LoadedRoom,
        *,
        settings: Settings,
        redis_hub: RedisHub,
        store: Store,
        committer: GroupCommitter,
        on_empty: Callable[[Room], None],
    ) -> None:
        super().__init__(
            loaded, settings=settings, hub=MemoryHub(), committer=committer, codecs=(MSGPACK, JSON), on_empty=on_empty
        )
        self.state = self.committed  # no sequenced-ahead state: Redis sequences
        self.node_id = redis_hub.node_id
        self._redis = redis_hub
        self._store = store
        self.replica = Replica(epoch=self.epoch, head=self.head)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._repair_lock = asyncio.Lock()
        self._seed_lock = asyncio.Lock()
        self._repair_wanted = False
        self.remote: dict[str, dict[str, PresenceMember]] = {}  # node -> member -> entry
        self._closed = False
        self._direct: deque[bytes] = deque()  # relayed signals for other nodes, in order
        self._direct_task: asyncio.Task[None] | None = None
        redis_hub.subscribe(self.id, self._on_raw, self._schedule_repair)

    # ---- background tasks ------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("room task failed", room=self.id, error=repr(task.exception()))

    # ---- opening: seed, load presence, catch up -----------------------------------------

    async def open(self) -> None:
        await self._redis.subscribed(self.id)
        await self.ensure_seeded()
        await self._load_remote_presence()
        await self.repair()

    async def ensure_seeded(self) -> None:
        """Make sure Redis holds this room under its current incarnation."""
        async with self._seed_lock:
            await self._ensure_seeded()

    async def _ensure_seeded(self) -> None:
        await self._redis.refresh_run_id()
        epoch, _offset, runid = await self._redis.room_position(self.id)
        if epoch is not None and runid == self._redis.run_id:
            if epoch != self.epoch:
                await self._resync(epoch)
            return
        # Redis lost the room or is a new incarnation. One node (under a lock) keeps what
        # the stream still has, moves the log to a fresh epoch, then re-seeds Redis from
        # the durable head; the others wait and follow.
        async with self._redis.seed_lock(self.id) as mine:
            epoch, _offset, runid = await self._redis.room_position(self.id)
            if mine and (epoch is None or runid != self._redis.run_id):
                if epoch is not None:
                    await self._archive_stream(epoch)
                new_epoch = secrets.token_hex(8)
                await self._store.set_room_epoch(self.id, new_epoch)  # stale writers now refused
                head = await self._store.head(self.id)
                await self._fill_holes(head, new_epoch)
                seeded, epoch = await self._redis.seed(self.id, new_epoch, head)
                log.warning("room re-seeded", room=self.id, epoch=epoch, head=head, seeded=seeded)
        epoch, _offset, runid = await self._redis.room_position(self.id)
        if epoch is None or runid != self._redis.run_id:
            raise HubUnavailable("room is being re-seeded")
        if epoch != self.epoch:
            await self._resync(epoch)

    async def _fill_holes(self, head: int, epoch: str) -> None:
        """Seqs below the durable head that no log holds now never will (their writer
        died and Redis lost them): mark each with a ``log.gap`` so the log is contiguous."""
        start = max(1, head - self.settings.idempotency_events)
        missing = await self._store.missing_seqs(self.id, list(range(start, head + 1)))
        if not missing:
            return
        ts = now_ms()
        gaps = []
        for seq in missing:
            event = Event(seq=seq, ts=ts, by="", op=LogGap())
            gaps.append(
                PendingEvent(room_id=self.id, event=event, ref=None, body=_event_encoder.encode(event), epoch=epoch)
            )
        await self._store.append(gaps, [])
        log.warning("lost events marked as log.gap", room=self.id, seqs=missing)

    async def _archive_stream(self, epoch: str) -> None:
        await self.archive(await self._redis.read_stream(self.id, after=0), epoch)

    async def archive(self, entries: list[tuple[int, bytes]], epoch: str | None = None) -> int:
        """Write the stream entries the SQL log lacks; how many were missing."""
        if not entries:
            return 0
        missing = set(await self._store.missing_seqs(self.id, [seq for seq, _ in entries]))
        items = []
        for seq, payload in entries:
            if seq in missing:
                ts, by, body, ref = _payload_decoder.decode(payload)
                event = Event(seq=seq, ts=ts, by=by, op=body)
                items.append(
                    PendingEvent(
                        room_id=self.id,
                        event=event,
                        ref=storable_ref(ref),
                        body=_event_encoder.encode(event),
                        epoch=epoch or self.epoch,
                    )
                )
        if items:
            # a row the database can never store is skipped and logged, not retried forever
            refused, unstorable = await append_isolating(self._store, items)
            for item in unstorable:
                log.error("archiver: event refused by the database, skipped", room=self.id, seq=item.event.seq)
            return len(items) - len(refused) - len(unstorable)
        return 0

    async def _resync(self, epoch: str) -> None:
        """A new epoch: reload from SQL, then every client takes a fresh snapshot."""
        if epoch == self.epoch:
            return
        loaded = await self._store.load_room(
            self.id, history=self.settings.history_events, idempotency=self.settings.idempotency_events
        )
        if loaded is None:  # pragma: no cover - rooms are never deleted
            return
        self.epoch = epoch
        self.committed = loaded.state
        self.state = self.committed
        self.head = loaded.head
        self.next_seq = loaded.head + 1
        self.history.clear()
        self.history.extend(loaded.history)
        self.replica = Replica(epoch=epoch, head=self.head)
        for member, ref, seq in loaded.refs:
            self._refs[(member, ref)] = seq
        for conn in list(self.connections.values()):
            conn.close(CloseCode.RESYNC, "room history changed: resume for a snapshot")
        log.warning("room resynced to a new epoch", room=self.id, epoch=epoch, head=self.head)

    # ---- replication -------------------------------------------------------------------

    def _on_raw(self, data: bytes) -> None:
        kind = data[:1]
        if kind == b"E":
            head, _, payload = data[1:].partition(b":")
            epoch = head.decode()
            seq_text, _, payload = payload.partition(b":")
            self._on_event_message(epoch, int(seq_text), payload)
        elif kind == b"S":
            node, _, body = data[1:].partition(b"\n")
            self._on_signal(node.decode(), _signal_decoder.decode(body))
        elif kind == b"P":
            sender, kind_text, entry = _presence_decoder.decode(data[1:])
            self._on_presence(sender, kind_text, entry)
        elif kind == b"D":
            to, signal = _direct_decoder.decode(data[1:])
            self.calls.deliver(to, signal)
        elif kind == b"R":
            self._schedule_repair()

    def _on_event_message(self, epoch: str, seq: int, payload: bytes) -> None:
        verdict = self.replica.receive(epoch, seq)
        if verdict == "applied":
            ts, by, body, _ref = _payload_decoder.decode(payload)
            self._apply_committed(Event(seq=seq, ts=ts, by=by, op=body))
        elif verdict in ("gap", "new_epoch"):
            self._schedule_repair()

    def schedule_repair(self) -> None:
        self._schedule_repair()

    def _schedule_repair(self) -> None:
        self._repair_wanted = True
        if not self._repair_lock.locked():
            self._spawn(self.repair())

    async def repair(self) -> None:
        """Bring the replica to Redis's position: new epoch → resync; behind → read the
        missing events from the stream (or the SQL log if the stream was trimmed)."""
        async with self._repair_lock:
            while True:
                self._repair_wanted = False
                try:
                    epoch, offset, runid = await self._redis.room_position(self.id)
                    if epoch is None or runid != self._redis.run_id or epoch != self.epoch:
                        await self.ensure_seeded()
                        epoch, offset, runid = await self._redis.room_position(self.id)
                    if offset > self.head:
                        await self._fill(offset)
                except HubUnavailable:
                    return  # the hub reconnects and asks again
                if not self._repair_wanted:
                    return

    async def _fill(self, upto: int) -> None:
        start = self.head  # events may be applied while we await: re-check each one below
        entries = await self._redis.read_stream(self.id, after=start, upto=upto)
        entries = [(seq, payload) for seq, payload in entries if seq > self.head]
        if not entries or entries[0][0] != self.head + 1:
            # trimmed from the stream: the SQL log must have them (or soon will)
            first_in_stream = entries[0][0] if entries else upto + 1
            missing = first_in_stream - self.head - 1
            if missing > 0:
                for event in await self._store.events_after(self.id, self.head, missing):
                    if self.replica.receive(self.epoch, event.seq) == "applied":
                        self._apply_committed(event)
        for seq, payload in entries:
            if self.replica.receive(self.epoch, seq) == "applied":
                ts, by, body, _ref = _payload_decoder.decode(payload)
                self._apply_committed(Event(seq=seq, ts=ts, by=by, op=body))

    # ---- writes --------------------------------------------------------------------------

    def _write_op(self, by: str, ref: str, body: ClientOpBody) -> None:
        # checked against the replica (``state`` is ``committed`` here); Redis sequences
        self._spawn(self._write(by, ref, body))

    async def _append(self, by: str, ref: str | None, body: EventBody) -> tuple[int, bool, int, str]:
        """Sequence through Redis, retrying while Redis is away: (seq, fresh?, ts, epoch)."""
        ts = now_ms()
        payload = _payload_encoder.encode((ts, by, body, ref))
        deadline = time.monotonic() + self.settings.write_timeout
        backoff = 0.05
        while True:
            known = self._refs.get((by, ref)) if ref is not None else None
            if known is not None:  # learnt from the log after a re-seed: already applied
                return known, False, ts, self.epoch
            epoch = self.epoch
            try:
                result = await self._redis.append(self.id, epoch, payload, by, ref)
            except HubUnavailable:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
                continue
            if result.status == "ok":
                return result.seq, True, ts, epoch
            if result.status == "dup":
                return result.seq, False, ts, epoch
            # the room moved to another epoch, or Redis lost it: catch up, then retry
            if time.monotonic() > deadline:
                raise HubUnavailable(f"room not writable: {result.status}")
            try:
                await self.ensure_seeded()
            except HubUnavailable:
                await asyncio.sleep(backoff)

    async def _write(self, by: str, ref: str, body: EventBody) -> None:
        key = (by, ref)
        try:
            seq, fresh, ts, epoch = await self._append(by, ref, body)
            if not fresh:
                await self._ensure_durable(seq)
        except Exception as exc:
            # Whatever failed (Redis away, the store, a connection dropped mid-command),
            # the waiters must hear of it: a re-sent op with this ref would otherwise join
            # a waiting list that nothing answers any more. ``unavailable`` makes clients
            # retry it, same ref, after a backoff.
            if not isinstance(exc, HubUnavailable):
                log.warning("write failed", room=self.id, error=repr(exc))
            err = Error(code=ErrorCode.UNAVAILABLE, message=f"cannot sequence right now: {exc}", ref=ref)
            for conn in self._waiting.pop(key, ()):
                conn.send(err)
            return
        if fresh:
            event = Event(seq=seq, ts=ts, by=by, op=body)
            item = PendingEvent(
                room_id=self.id, event=event, ref=storable_ref(ref), body=_event_encoder.encode(event), epoch=epoch
            )
            # refused = sequenced under an epoch that Redis lost meanwhile: sequence it again
            self._committer.enqueue(
                item,
                lambda: self._acked(key, seq),
                lambda: self._spawn(self._write(by, ref, body)),
                lambda _gap: self._unstorable_write(key),
            )
        else:
            self._acked(key, seq)

    def _unstorable_write(self, key: tuple[str, str]) -> None:
        """The SQL log refused this event's row (never a U+0000 ref: ``storable_ref``).
        Every replica folded it already; its seq stays a hole in the SQL log until a
        re-seed marks it ``log.gap``. Its sender hears it was not made durable."""
        err = Error(code=ErrorCode.INTERNAL, message="the server could not store this op durably", ref=key[1])
        for conn in self._waiting.pop(key, ()):
            conn.send(err)

    async def _ensure_durable(self, seq: int) -> None:
        """A retried op that Redis had already sequenced: make sure the log has it (its
        first writer may have died before writing it) before acking."""
        if not await self._store.missing_seqs(self.id, [seq]):
            return
        entries = await self._redis.read_stream(self.id, after=seq - 1, upto=seq)
        await self.archive(entries)

    async def _add_member(self, conn: RoomConnection) -> None:
        pending = self._joining.get(conn.member)
        if pending is not None:
            await asyncio.shield(pending)
            return
        pending = asyncio.get_running_loop().create_future()
        self._joining[conn.member] = pending
        try:
            body = MemberJoin(member=conn.member, name=conn.name, role=conn.role)
            seq, fresh, ts, epoch = await self._append("", None, body)
            if fresh:
                event = Event(seq=seq, ts=ts, by="", op=body)
                self._committer.enqueue(
                    PendingEvent(
                        room_id=self.id, event=event, ref=None, body=_event_encoder.encode(event), epoch=epoch
                    ),
                    _noop,
                )
            async with asyncio.timeout(self.settings.write_timeout):
                await self._await_commit(seq)
        except Exception as exc:  # Redis away, a commit too slow, a connection dropped mid-command
            if not isinstance(exc, (HubUnavailable, TimeoutError)):
                log.warning("member join write failed", room=self.id, error=repr(exc))
            raise _unavailable(str(exc) or type(exc).__name__) from None
        finally:
            self._joining.pop(conn.member, None)
            if not pending.done():
                pending.set_result(None)

    async def _await_commit(self, seq: int) -> None:
        while self.head < seq:
            fut = self._commit_waiters.get(seq)
            if fut is None:
                fut = asyncio.get_running_loop().create_future()
                self._commit_waiters[seq] = fut
            try:
                async with asyncio.timeout(1.0):
                    await asyncio.shield(fut)
            except TimeoutError:
                self._schedule_repair()  # a lost publish: fetch it from the stream

    # ---- fan-out and signals -------------------------------------------------------------

    def _fanout(self, message: ServerMessage) -> None:
        self._deliver(message)  # every node delivers to its own members only

    def broadcast(self, message: ServerMessage) -> None:
        data = b"S" + self.node_id.encode() + b"\n" + MSGPACK.encode(message)
        self._spawn(self._publish(data))

    async def _publish(self, data: bytes) -> None:
        with contextlib.suppress(HubUnavailable):
            await self._redis.publish(self.id, data)

    # ---- calls: relayed signals and call events across nodes --------------------------------

    def route_signal(self, to: str, message: SignalRelay) -> None:
        """To the addressee's call connection: here, or published for the node holding it
        (every node of the room hears it; only that node has the connection). One task
        publishes them one after another, so a peer gets offer and candidates in order."""
        if self.calls.deliver(to, message):
            return
        if len(self._direct) >= DIRECT_QUEUE_MAX:
            log.warning("relayed signal dropped: Redis is not keeping up", room=self.id)
            return
        self._direct.append(b"D" + _payload_encoder.encode((to, message)))
        if self._direct_task is None:
            self._direct_task = asyncio.create_task(self._drain_direct())
            self._tasks.add(self._direct_task)
            self._direct_task.add_done_callback(self._task_done)

    async def _drain_direct(self) -> None:
        try:
            while self._direct:
                data = self._direct.popleft()
                await self._publish(data)
        finally:
            self._direct_task = None

    def sequence_system(self, body: EventBody) -> None:
        self._spawn(self._write_system(body))

    async def _write_system(self, body: EventBody) -> None:
        try:
            seq, fresh, ts, epoch = await self._append("", None, body)
        except Exception as exc:  # Redis away past the write timeout: the call event is lost
            log.warning("call event not sequenced", room=self.id, op=type(body).__name__, error=repr(exc))
            return
        if fresh:
            event = Event(seq=seq, ts=ts, by="", op=body)
            self._committer.enqueue(
                PendingEvent(room_id=self.id, event=event, ref=None, body=_event_encoder.encode(event), epoch=epoch),
                _noop,
            )

    def _on_signal(self, node: str, message: ServerMessage) -> None:
        entries = self.remote.get(node, {})
        if isinstance(message, FocusSignal) and message.member in entries:
            entries[message.member] = msgspec.structs.replace(entries[message.member], focus=message.product)
        elif isinstance(message, FollowSignal) and message.member in entries:
            entries[message.member] = msgspec.structs.replace(entries[message.member], following=message.target)
        if isinstance(message, (FocusSignal, FollowSignal, TypingSignal)):
            self._deliver(message)

    # ---- presence across nodes -------------------------------------------------------------

    def presence_list(self) -> list[PresenceMember]:
        members: dict[str, None] = {}
        for entries in self.remote.values():
            members.update(dict.fromkeys(entries))
        out = [self._aggregate(m) for m in members]
        return [entry for entry in out if entry is not None]

    def _aggregate(self, member: str) -> PresenceMember | None:
        found = [entries[member] for entries in self.remote.values() if member in entries]
        if not found:
            return None
        connections = sum(entry.connections for entry in found)
        focus = next((e.focus for e in found if e.focus is not None), None)
        following = next((e.following for e in found if e.following is not None), None)
        call = next((e.call for e in found if e.call is not None), None)
        return msgspec.structs.replace(found[0], connections=connections, focus=focus, following=following, call=call)

    def presence_entry(self, member: str) -> PresenceMember | None:
        return self._aggregate(member)

    def _presence_changed(self, kind: Literal["join", "update", "leave"], entry: PresenceMember) -> None:
        payload = b"P" + _payload_encoder.encode((self.node_id, kind, entry))
        self._spawn(self._store_presence(kind, entry, payload))

    def _presence_stored(self, entry: PresenceMember) -> None:
        self._spawn(self._store_presence("update", entry, None))

    async def _store_presence(self, kind: str, entry: PresenceMember, payload: bytes | None) -> None:
        keys = room_keys(self.id)
        field = f"{self.node_id}|{entry.member}"
        try:
            pipe = self._redis.redis.pipeline(transaction=False)
            if kind == "leave":
                pipe.hdel(keys["presence"], field)
            else:
                pipe.hset(keys["presence"], field, _payload_encoder.encode(entry))
            if payload is not None:
                pipe.publish(keys["channel"], payload)
            await pipe.execute()
        except Exception as exc:  # presence is best effort; a dead Redis is handled elsewhere
            log.debug("presence write failed", room=self.id, error=str(exc))
            if payload is not None:  # still tell our own members
                self._on_presence(self.node_id, kind, entry)

    def _on_presence(self, node: str, kind: str, entry: PresenceMember) -> None:
        before = self._aggregate(entry.member)
        entries = self.remote.setdefault(node, {})
        if kind == "leave":
            entries.pop(entry.member, None)
            if not entries:
                self.remote.pop(node, None)
        else:
            entries[entry.member] = entry
        after = self._aggregate(entry.member)
        if after is None:
            if before is not None:
                self._deliver(PresenceUpdate(kind="leave", member=before))
        elif before is None:
            self._deliver(PresenceUpdate(kind="join", member=after))
        elif after != before:
            self._deliver(PresenceUpdate(kind="update", member=after))
        if node != self.node_id and kind != "leave" and entry.call is not None:
            self.calls.moved_away(entry.member)  # its call connection is on that node now
        self.calls.sync(local=node == self.node_id)

    async def _load_remote_presence(self) -> None:
        keys = room_keys(self.id)
        try:
            raw: Any = await self._redis.redis.hgetall(keys["presence"])
        except Exception:
            return
        decoder = msgspec.msgpack.Decoder(PresenceMember)
        for field, value in raw.items():
            node, _, member = field.decode().partition("|")
            if node == self.node_id:
                continue  # our own entries from a previous life of this node id
            self.remote.setdefault(node, {})[member] = decoder.decode(value)

    def drop_node(self, node: str) -> None:
        """A node's heartbeat expired: its members are gone."""
        for entry in list(self.remote.get(node, {}).values()):
            self._on_presence(node, "leave", entry)
        self._spawn(self._forget_node(node))

    async def _forget_node(self, node: str) -> None:
        keys = room_keys(self.id)
        with contextlib.suppress(Exception):
            names: Any = await self._redis.redis.hkeys(keys["presence"])
            fields = [f for f in names if f.decode().startswith(node + "|")]
            if fields:
                await self._redis.redis.hdel(keys["presence"], *fields)

    # ---- lifecycle ---------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        return super().idle and not self._tasks

    def unload(self) -> None:
        super().unload()
        self._redis.unsubscribe(self.id)
        for task in self._tasks:
            task.cancel()


def _noop() -> None:
    return None


def _unavailable(message: str) -> Exception:
    return JoinRefused(ErrorCode.UNAVAILABLE, CloseCode.GOING_AWAY, f"the room cannot be joined right now: {message}")
