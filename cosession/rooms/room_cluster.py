"""A room served by one node of a cluster: Redis sequences, every node replicates.

Write path (see docs/cluster.md): the node checks the op against its replica, runs the
append script (idempotency, epoch and incarnation checks, next offset, stream, publish),
writes the event to the SQL log through the group committer and only then acks. It never
applies its own write early: every node, the writer included, folds events in offset
order as they come back from pub/sub. The ``Replica`` decides what each message means;
gaps are repaired from the stream (or the SQL log), a new epoch reloads the room and
sends its clients to take a snapshot.

Presence and capacity across nodes live in ``ClusterPresence`` (cluster_presence.py).
Count limits are decided at sequencing time: an op whose limit check depends on where it
lands is appended with a guard (the replica's head and ``limit_slack``); if too many
events were sequenced since, the append script refuses and the op is checked again on
the caught-up replica (SPEC 8.3).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import secrets
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Literal

import msgspec
import structlog

from cosession.calls.placement import RelayPlacement
from cosession.config import Settings
from cosession.hub.hub_memory import MemoryHub
from cosession.hub.hub_redis import HubUnavailable, RedisHub
from cosession.rooms.cluster_presence import ClusterPresence, node_key
from cosession.rooms.member_rates import ClusterRates
from cosession.rooms.replica import Replica
from cosession.rooms.room import JoinRefused, Room, RoomConnection, now_ms
from cosession.store.committer import GroupCommitter, append_isolating, storable_ref
from cosession.store.store import LoadedRoom, PendingEvent, Store
from protocol.codec import JSON, MSGPACK
from protocol.erasure import scrub_event
from protocol.errors import CloseCode, ErrorCode
from protocol.messages import (
    CallStart,
    Error,
    Event,
    EventBody,
    FocusSignal,
    FollowSignal,
    LogGap,
    MemberJoin,
    PresenceMember,
    ServerMessage,
    SignalRelay,
    TypingSignal,
)
from protocol.reducer import Rejection, check_limits, check_rules, limit_slack

log = structlog.get_logger("cosession.room.cluster")

_payload_encoder = msgspec.msgpack.Encoder()
_payload_decoder = msgspec.msgpack.Decoder(tuple[int, str, EventBody, str | None])
_event_encoder = msgspec.msgpack.Encoder()
_signal_decoder = msgspec.msgpack.Decoder(ServerMessage)
_presence_decoder = msgspec.msgpack.Decoder(tuple[str, str, PresenceMember])
_direct_decoder = msgspec.msgpack.Decoder(tuple[str, SignalRelay])
_cursor_decoder = msgspec.msgpack.Decoder(tuple[str, str, int])
DIRECT_QUEUE_MAX = 4096  # relayed signals waiting for Redis, per room and node

__all__ = ["ClusterRoom", "node_key"]

Guard = tuple[int, int]  # (replica head the op was checked at, limit_slack)


class _Refused(Exception):
    """An op (or a join) that a fresher replica refuses: nothing was appended."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.message)
        self.rejection = rejection


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
        self._closed = False
        self.online = ClusterPresence(self.id, redis_hub, settings, self._deliver, self._spawn, self._presence_applied)
        self.rates = ClusterRates(settings.ops_per_second, settings.ops_burst, redis_hub, self.id)
        self._direct: deque[bytes] = deque()  # relayed signals for other nodes, in order
        self._direct_task: asyncio.Task[None] | None = None
        self.relay_placement = RelayPlacement(
            self.id, redis_hub, settings, self.calls, self.route_signal, self.send_ordered, self._spawn
        )
        self.calls.placement = self.relay_placement
        redis_hub.subscribe(self.id, self._on_raw, self._schedule_repair)

    @property
    def remote(self) -> dict[str, dict[str, PresenceMember]]:
        """Every node's entries of this room's online members (node -> member -> entry)."""
        return self.online.remote

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
        await self.online.load()
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
            self.online.published(sender, kind_text, entry)
        elif kind == b"D":
            to, signal = _direct_decoder.decode(data[1:])
            self.calls.deliver(to, signal)
        elif kind in (b"V", b"L"):  # for the room's call relay, or who hosts it
            self.relay_placement.received(data)
        elif kind == b"C":
            origin, member, seq = _cursor_decoder.decode(data[1:])
            if origin != self.node_id and self.cursors.heard(member, seq):
                self._send_cursor(member, seq)
        elif kind == b"R":
            self._schedule_repair()

    def _on_event_message(self, epoch: str, seq: int, payload: bytes) -> None:
        verdict = self.replica.receive(epoch, seq)
        if verdict == "applied":
            ts, by, body, _ref = _payload_decoder.decode(payload)
            self._sequenced_at[seq] = time.perf_counter()  # sequenced (by Redis) as far as this node knows
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
            if seq > self.head + 1:  # a hole inside the stream (entries erased): from the SQL log
                for event in await self._store.events_after(self.id, self.head, seq - self.head - 1):
                    if self.replica.receive(self.epoch, event.seq) == "applied":
                        self._apply_committed(event)
            if self.replica.receive(self.epoch, seq) == "applied":
                ts, by, body, _ref = _payload_decoder.decode(payload)
                self._apply_committed(Event(seq=seq, ts=ts, by=by, op=body))

    # ---- writes --------------------------------------------------------------------------

    def _write_op(self, by: str, ref: str, body: EventBody) -> None:
        # checked against the replica (``state`` is ``committed`` here); Redis sequences
        self._spawn(self._write(by, ref, body, self._guard(body)))

    def _guard(self, body: EventBody) -> Guard | None:
        """How far the sequencer may be ahead of this replica for ``body``'s limit check
        (made just now, against ``state`` at ``head``) to still hold where it lands."""
        slack = limit_slack(self.state, body, self.limits)
        return None if slack is None else (self.head, slack)

    def _recheck_op(self, by: str, body: EventBody) -> Guard | None:
        """After a ``stale`` append: check the op again on the caught-up replica."""
        rejection = check_rules(self.state, by, body) or check_limits(self.state, body, self.limits)
        if rejection is not None:
            raise _Refused(rejection)
        return self._guard(body)

    def _recheck_join(self, member: str) -> Guard | None:
        """A new member's ``member.join`` under ``max_room_members`` (SPEC 3.1)."""
        if member in self.state.members:
            return None
        cap = self.settings.max_room_members
        if len(self.state.members) >= cap:
            raise _Refused(Rejection(ErrorCode.TOO_MANY_MEMBERS, "this room cannot take more members"))
        return (self.head, cap - len(self.state.members))

    async def _catch_up(self, seq: int, deadline: float) -> None:
        try:
            async with asyncio.timeout(max(0.1, deadline - time.monotonic())):
                await self._await_commit(seq)
        except TimeoutError:
            raise HubUnavailable("the replica could not catch up with the sequencer") from None

    async def _append(
        self,
        by: str,
        ref: str | None,
        body: EventBody,
        guard: Guard | None = None,
        recheck: Callable[[], Guard | None] | None = None,
    ) -> tuple[int, bool, int, str]:
        """Sequence through Redis, retrying while Redis is away: (seq, fresh?, ts, epoch).
        With a guard, a ``stale`` answer means the op's count limit must be checked again
        on a fresher replica: ``recheck`` does it (raising ``_Refused``) and gives the new
        guard."""
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
                result = await self._redis.append(self.id, epoch, payload, by, ref, guard)
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
            if result.status == "stale" and recheck is not None:
                await self._catch_up(result.seq, deadline)
                guard = recheck()
                continue
            # the room moved to another epoch, or Redis lost it: catch up, then retry
            if time.monotonic() > deadline:
                raise HubUnavailable(f"room not writable: {result.status}")
            try:
                await self.ensure_seeded()
            except HubUnavailable:
                await asyncio.sleep(backoff)
            if guard is not None and recheck is not None:
                guard = recheck()

    async def _write(self, by: str, ref: str, body: EventBody, guard: Guard | None) -> None:
        key = (by, ref)
        # before the append: once it returns, the replica may already have folded the event
        notify = self.notify_targets(Event(seq=0, ts=0, by=by, op=body))
        try:
            seq, fresh, ts, epoch = await self._append(by, ref, body, guard, lambda: self._recheck_op(by, body))
            if not fresh:
                await self._ensure_durable(seq)
        except _Refused as refused:  # a limit reached meanwhile: nothing was appended (SPEC 8.3)
            rejection = refused.rejection
            err = Error(code=rejection.code, message=rejection.message, ref=ref)
            for conn in self._waiting.pop(key, ()):
                conn.send(err)
            return
        except Exception as exc:
            # Whatever failed (Redis away, the store, a connection dropped mid-command),
            # the waiters must hear of it: a re-sent op with this ref would otherwise join
            # a waiting list that nothing answers any more. ``unavailable`` makes clients
            # retry it, same ref, after a backoff.
            if not isinstance(exc, HubUnavailable):
                log.warning("write failed", room=self.id, error=repr(exc))
            err = Error(code=ErrorCode.UNAVAILABLE, message=f"cannot sequence right now: {exc}", ref=ref)
            self._started.pop(key, None)
            for conn in self._waiting.pop(key, ()):
                conn.send(err)
            return
        if fresh:
            event = Event(seq=seq, ts=ts, by=by, op=body)
            item = PendingEvent(
                room_id=self.id,
                event=event,
                ref=storable_ref(ref),
                body=_event_encoder.encode(event),
                epoch=epoch,
                context=self.help_context(by, body),
                notify=notify,
            )
            # refused = sequenced under an epoch that Redis lost meanwhile: sequence it again
            self._committer.enqueue(
                item,
                lambda: self._acked(key, seq),
                lambda: self._spawn(self._write(by, ref, body, self._guard(body))),
                lambda _gap: self._unstorable_write(key),
            )
        else:
            self._acked(key, seq)

    def _unstorable_write(self, key: tuple[str, str]) -> None:
        """The SQL log refused this event's row (never a U+0000 ref: ``storable_ref``).
        Every replica folded it already; its seq stays a hole in the SQL log until a
        re-seed marks it ``log.gap``. Its sender hears it was not made durable."""
        err = Error(code=ErrorCode.INTERNAL, message="the server could not store this op durably", ref=key[1])
        self._started.pop(key, None)
        for conn in self._waiting.pop(key, ()):
            conn.send(err)

    async def submit_server(self, ref: str, body: EventBody) -> tuple[int, Rejection | None]:
        """A server op through Redis like any op (see ``Room.submit_server``); the Redis
        script's ``(member, ref)`` record makes a second node's or a retry's append a
        duplicate, never a second event."""
        rejection = check_rules(self.committed, "", body)
        if rejection is not None:
            return self.head, rejection
        notify = self.notify_targets(Event(seq=0, ts=0, by="", op=body))  # before the replica folds it
        try:
            seq, fresh, ts, epoch = await self._append("", ref, body)
            if fresh:
                event = Event(seq=seq, ts=ts, by="", op=body)
                self._committer.enqueue(
                    PendingEvent(
                        room_id=self.id,
                        event=event,
                        ref=storable_ref(ref),
                        body=_event_encoder.encode(event),
                        epoch=epoch,
                        notify=notify,
                    ),
                    _noop,
                )
            else:
                await self._ensure_durable(seq)
            async with asyncio.timeout(self.settings.write_timeout):
                await self._await_commit(seq)
        except (HubUnavailable, TimeoutError) as exc:
            return self.head, Rejection(ErrorCode.UNAVAILABLE, f"cannot sequence right now: {exc}")
        return seq, None

    async def erase_stream(self, member: str) -> int:
        """Erasure: drop the stream entries that carry ``member``'s personal data (the SQL
        log holds their rewritten form, and gap repair reads holes from it)."""
        doomed = []
        for seq, payload in await self._redis.read_stream(self.id, after=0):
            ts, by, body, _ref = _payload_decoder.decode(payload)
            event = Event(seq=seq, ts=ts, by=by, op=body)
            if scrub_event(event, member) is not event:
                doomed.append(seq)
        return await self._redis.delete_entries(self.id, doomed)

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
            recheck = functools.partial(self._recheck_join, conn.member)
            seq, fresh, ts, epoch = await self._append("", None, body, recheck(), recheck)
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
        except _Refused as refused:
            raise JoinRefused(refused.rejection.code, CloseCode.ROOM_FULL, refused.rejection.message) from None
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
        if not self.calls.deliver(to, message):
            self.send_ordered(b"D" + _payload_encoder.encode((to, message)))

    def send_ordered(self, data: bytes) -> None:
        """Publish on the room's channel after everything queued before (call signals)."""
        if len(self._direct) >= DIRECT_QUEUE_MAX:
            log.warning("relayed signal dropped: Redis is not keeping up", room=self.id)
            return
        self._direct.append(data)
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
        self._spawn(self._write_system(body, (self.head, 1)))  # the head it was decided at

    async def _write_system(self, body: EventBody, guard: Guard) -> None:
        """call.start / call.end, appended only if no event landed since this replica's head:
        otherwise checked again on the caught-up replica, so of two nodes that saw the call
        start (or end) at once, only the first one's event is logged (SPEC 14.4)."""
        try:
            seq, fresh, ts, epoch = await self._append("", None, body, guard, lambda: self._recheck_call(body))
        except _Refused:
            return  # another node logged it first
        except Exception as exc:  # Redis away past the write timeout: the call event is lost
            log.warning("call event not sequenced", room=self.id, op=type(body).__name__, error=repr(exc))
            return
        if fresh:
            event = Event(seq=seq, ts=ts, by="", op=body)
            self._committer.enqueue(
                PendingEvent(room_id=self.id, event=event, ref=None, body=_event_encoder.encode(event), epoch=epoch),
                _noop,
            )

    def _recheck_call(self, body: EventBody) -> Guard:
        if (self.state.call is not None) == isinstance(body, CallStart):
            raise _Refused(Rejection(ErrorCode.NOT_FOUND, "the call's start or end is already in the log"))
        return (self.head, 1)

    def _cursor_moved(self, member: str, seq: int) -> None:
        """SPEC 15: the member's connections on other nodes hear its cursor moved."""
        self._spawn(self._publish(b"C" + _payload_encoder.encode((self.node_id, member, seq))))

    def _on_signal(self, node: str, message: ServerMessage) -> None:
        self.online.signal(node, message)
        if isinstance(message, (FocusSignal, FollowSignal, TypingSignal)):
            self._deliver(message)

    # ---- presence and capacity across nodes (cluster_presence.py) ----------------------------

    def presence_list(self) -> list[PresenceMember]:
        return self.online.online()

    def presence_entry(self, member: str) -> PresenceMember | None:
        return self.online.aggregate(member)

    def _presence_changed(self, kind: Literal["join", "update", "leave"], entry: PresenceMember) -> None:
        self.online.local_changed(kind, entry)

    def _presence_stored(self, entry: PresenceMember) -> None:
        self.online.local_stored(entry)

    def _full(self, member: str) -> bool:
        return False  # decided across nodes by ``_admit``

    async def _admit(self, member: str) -> None:
        await self.online.admit(member)

    def _presence_applied(self, node: str, kind: str, entry: PresenceMember) -> None:
        """Any node's presence entry changed: new call roster or mode (SPEC 14). The echo of
        this node's own write decides call.start / call.end: by then this node has heard
        every change published before it, so of two nodes only one sees the call go idle."""
        if kind == "echo":
            self.calls.sync(local=True)
            return
        if node != self.node_id and kind != "leave" and entry.call is not None:
            self.calls.moved_away(entry.member)  # its call connection is on that node now
        self.calls.sync(local=False)

    def _admitted(self, member: str, *, joined: bool) -> None:
        self.online.admitted(member, joined=joined)

    def _member_gone(self, entry: PresenceMember, key: str) -> None:
        # our last connection of the member left: gone only if no other node has one
        if any(entry.member in entries for node, entries in self.remote.items() if node != self.node_id):
            return
        super()._member_gone(entry, key)

    def drop_node(self, node: str) -> None:
        """A node's heartbeat expired: its members are gone."""
        gone = list(self.remote.get(node, {}).values())
        self.online.drop_node(node)
        self.relay_placement.node_dropped(node)
        for entry in gone:
            if not any(entry.member in entries for entries in self.remote.values()):
                # every survivor derives the same key: one member.left row
                super()._member_gone(entry, f"node:{node}")

    # ---- lifecycle ---------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        return super().idle and not self._tasks

    def unload(self) -> None:
        super().unload()
        self.relay_placement.close()
        self._redis.unsubscribe(self.id)
        for task in self._tasks:
            task.cancel()


def _noop() -> None:
    return None


def _unavailable(message: str) -> Exception:
    return JoinRefused(ErrorCode.UNAVAILABLE, CloseCode.GOING_AWAY, f"the room cannot be joined right now: {message}")
