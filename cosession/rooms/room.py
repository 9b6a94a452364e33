"""One loaded room: sequencing, the committed state, the replay window, and fan-out.

The op path never awaits. ``submit`` checks the op against the *sequenced* state (which
includes events still waiting for their group commit), gives it the next ``seq``, folds
it into that state and hands it to the committer. Only when the batch is durable does
``_committed`` fold it into the *committed* state that clients see, publish it through
the hub (one encoding per wire format, the same bytes to every member) and ack it. So no
client ever sees an event that could vanish, and every member sees the same order.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from typing import Literal, Protocol

import msgspec
import structlog

from cosession.calls.ice import ice_servers
from cosession.calls.signaling import RoomCalls
from cosession.config import Settings
from cosession.cursors.room_cursors import RoomCursors
from cosession.gateway.framing import OutFrame
from cosession.help.context import build_context, encode_context
from cosession.hub.hub import Hub
from cosession.metrics.counters import Metrics
from cosession.notify.triggers import notification_reasons
from cosession.rooms.member_rates import MemberRates
from cosession.rooms.presence import Change, Presence
from cosession.store.committer import GroupCommitter
from cosession.store.store import LoadedRoom, PendingEvent, SnapshotWrite
from protocol.codec import Codec
from protocol.erasure import scrub_event
from protocol.errors import CloseCode, ErrorCode
from protocol.messages import (
    Ack,
    CallEnd,
    CallStart,
    CheckoutRequest,
    ClientOpBody,
    Device,
    Error,
    Event,
    EventBody,
    FocusSignal,
    FollowSignal,
    HelpRequest,
    LogGap,
    MemberErase,
    MemberJoin,
    MemberKick,
    PresenceMember,
    PresenceUpdate,
    Product,
    QaAsk,
    ReadSignal,
    Resume,
    Role,
    ServerMessage,
    Signal,
    SignalRelay,
    TypingSignal,
    Unread,
    Welcome,
)
from protocol.polls import timing_rule
from protocol.reducer import Rejection, apply, check_limits, check_rules, copy_state
from protocol.unread import clamp_cursor, is_zero

log = structlog.get_logger("cosession.room")

_event_encoder = msgspec.msgpack.Encoder()
_state_encoder = msgspec.msgpack.Encoder()


class RoomConnection(Protocol):
    """What a room needs of a member's connection (the gateway implements it)."""

    id: int
    member: str
    name: str
    role: Role
    device: Device
    codec: Codec

    def send(self, message: ServerMessage) -> None: ...

    def send_frame(self, frame: OutFrame) -> None: ...

    def close(self, code: int, reason: str) -> None: ...


# (room, member, name, pos, ts ms, key): a member's presence ended; the same key for the
# same leave, so a message id derived from it is written once (cosession/webhooks)
MemberLeft = Callable[[str, str, str, int, int, str], None]


class RoomExtension(Protocol):
    """Server features that build event bodies or react to committed events
    (cosession/retail/service.py). Both calls are synchronous and must not raise.

    ``checkout`` starts the work for an accepted ``checkout.request``; it must end with
    exactly one ``room.complete_request(by, ref, body)`` (later, off the op path)."""

    def checkout(self, room: Room, by: str, ref: str, body: CheckoutRequest) -> None: ...

    def committed(self, room: Room, event: Event) -> None: ...


class JoinRefused(Exception):
    def __init__(self, code: ErrorCode, close: CloseCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.close_code = close
        self.message = message


_UNCOUNTED = Metrics()  # rooms made outside a registry (tests) count here


def now_ms() -> int:
    return int(time.time() * 1000)


class Room:
    on_member_left: MemberLeft | None = None

    def __init__(
        self,
        loaded: LoadedRoom,
        *,
        settings: Settings,
        hub: Hub,
        committer: GroupCommitter,
        codecs: Iterable[Codec],
        on_empty: Callable[[Room], None],
    ) -> None:
        self.id = loaded.record.id
        self.tenant = loaded.record.tenant
        self.extension: RoomExtension | None = None
        self.unloaded = False
        self.epoch = loaded.record.epoch
        self.settings = settings
        self.limits = settings.room_limits()
        self._hub = hub
        self._committer = committer
        self._codecs = tuple(codecs)
        self._on_empty = on_empty
        self.committed = loaded.state  # what clients see
        self.state = copy_state(loaded.state)  # sequenced: committed + waiting for commit
        self.head = loaded.head
        self.next_seq = loaded.head + 1
        self.history: deque[Event] = deque(loaded.history, maxlen=max(1, settings.history_events))
        self._refs: OrderedDict[tuple[str, str], int] = OrderedDict(((m, r), s) for m, r, s in loaded.refs)
        self._waiting: dict[tuple[str, str], list[RoomConnection]] = {}
        self._joining: dict[str, asyncio.Future[None]] = {}
        self._commit_waiters: dict[int, asyncio.Future[None]] = {}
        self._in_flight: dict[int, Event] = {}  # sequenced, not yet committed (embedded mode)
        self.connections: dict[int, RoomConnection] = {}
        self.presence = Presence()
        self.rates = MemberRates(settings.ops_per_second, settings.ops_burst)  # one bucket per member
        self._grace_timers: dict[str, asyncio.TimerHandle] = {}
        self._since_snapshot = 0
        self._log = log.bind(room=self.id)
        self.metrics = _UNCOUNTED  # the registry installs the server's
        self._started: dict[tuple[str, str], float] = {}  # op accepted (perf_counter), for op->ack
        self._sequenced_at: dict[int, float] = {}  # event sequenced here (perf_counter), for fan-out
        self.calls = RoomCalls(self)
        self.cursors = RoomCursors(self.id, None)  # the registry gives it the store's writer
        hub.attach(self.id, self._deliver)

    # ---- sequencing ------------------------------------------------------------------

    @property
    def pending(self) -> int:
        return self.next_seq - 1 - self.head

    def _sequence(self, by: str, ref: str | None, body: EventBody) -> Event:
        event = Event(seq=self.next_seq, ts=now_ms(), by=by, op=body)
        self.next_seq += 1
        context = self.help_context(by, body)
        notify = self.notify_targets(event)  # against the state just before the event
        apply(self.state, event)
        item = PendingEvent(
            room_id=self.id,
            event=event,
            ref=ref,
            body=_event_encoder.encode(event),
            context=context,
            notify=notify,
        )
        self._in_flight[event.seq] = event
        self._sequenced_at[event.seq] = time.perf_counter()
        self._committer.enqueue(
            item, lambda: self._committed(event, ref), on_unstorable=lambda gap: self._unstorable(event, ref, gap)
        )
        return event

    def help_context(self, by: str, body: EventBody) -> bytes | None:
        """A ``help.request``'s context for the associates' queue (cosession/help/context.py)."""
        if not isinstance(body, HelpRequest):
            return None
        return encode_context(build_context(self.state, self.presence_list(), by, body))

    def notify_targets(self, event: Event) -> tuple[tuple[str, str], ...]:
        """``(member, reason)`` to notify for ``event`` (SPEC 18): the triggers against the
        state before it, kept for members with no live connection on any node."""
        found = notification_reasons(self.state, event)
        if not found:
            return ()
        return tuple((m, r) for m, r in found if not self._online(m))

    def _online(self, member: str) -> bool:
        entry = self.presence_entry(member)
        return entry is not None and entry.connections > 0

    def submit(self, conn: RoomConnection, ref: str, body: ClientOpBody) -> None:
        """A member's op: ack, error, or (once durable) ack. Never awaits."""
        key = (conn.member, ref)
        seq = self._refs.get(key)
        if seq is not None:
            if seq > self.head - self.settings.idempotency_events:
                conn.send(Ack(ref=ref, seq=seq))
                return
            del self._refs[key]  # out of the window: a new op (SPEC 3.3)
        waiting = self._waiting.get(key)
        if waiting is not None:  # the same op is in flight (retry racing the original)
            waiting.append(conn)
            return
        rejection = (
            check_rules(self.state, conn.member, body)
            or check_limits(self.state, body, self.limits)
            or self._check_clock(body)
        )
        if rejection is not None:
            conn.send(Error(code=rejection.code, message=rejection.message, ref=ref))
            return
        if self._committer.full:  # the database is not keeping up (or down): do not queue more
            message = "the server cannot write right now: retry later"
            conn.send(Error(code=ErrorCode.UNAVAILABLE, message=message, ref=ref))
            return
        if isinstance(body, QaAsk) and self.tenant is None:  # SPEC 19: Q&A threads belong to a tenant
            message = "product Q&A needs a room created by a retailer (tenant)"
            conn.send(Error(code=ErrorCode.QA_UNAVAILABLE, message=message, ref=ref))
            return
        if isinstance(body, CheckoutRequest):  # the server re-checks, freezes and signs the lines
            if self.extension is None:
                conn.send(Error(code=ErrorCode.UNAVAILABLE, message="checkout is not available here", ref=ref))
                return
            self._waiting[key] = [conn]
            self.extension.checkout(self, conn.member, ref, body)
            return
        self._waiting[key] = [conn]
        self._started[key] = time.perf_counter()
        self._write_op(conn.member, ref, body)

    def _check_clock(self, body: ClientOpBody) -> Rejection | None:
        """Poll deadlines against this server's clock (SPEC 17.3): the fold never reads it."""
        refusal = timing_rule(self.state, body, now_ms(), self.settings.poll_min_deadline_ms)
        return None if refusal is None else Rejection(*refusal)

    def complete_request(self, by: str, ref: str, body: EventBody) -> None:
        """Sequence the event an extension built for a request that waited off the op
        path (``checkout.request``), checked again against the state as it is now."""
        key = (by, ref)
        waiters = self._waiting.get(key)
        if waiters is None or self.unloaded:
            return
        rejection = check_rules(self.state, by, body)
        if rejection is None and self._committer.full:
            rejection = Rejection(ErrorCode.UNAVAILABLE, "the server cannot write right now: retry later")
        if rejection is not None:
            err = Error(code=rejection.code, message=rejection.message, ref=ref)
            for conn in self._waiting.pop(key, ()):
                conn.send(err)
            return
        self._write_op(by, ref, body)

    def submit_server_nowait(self, ref: str, body: EventBody) -> bool:
        """A server op (``by = ""``, e.g. ``cart.revalidate``): sequenced unless refused,
        already known, or the write queue is full. Never awaits; nobody waits for its ack
        (``submit_server`` is the variant that waits until the op is durable)."""
        key = ("", ref)
        if key in self._refs or key in self._waiting or self._committer.full:
            return False
        if check_rules(self.state, "", body) is not None:
            return False
        self._waiting[key] = []
        self._write_op("", ref, body)
        return True

    def _write_op(self, by: str, ref: str, body: EventBody) -> None:
        """Sequence an accepted op; its waiters get the ack once it is durable."""
        self._sequence(by, ref, body)

    async def submit_server(self, ref: str, body: EventBody) -> tuple[int, Rejection | None]:
        """A server op (``by = ""``: admin API, retention) through the room's normal
        sequencing path. Idempotent by ``ref`` (a timer or request derives it, so a retry
        or a second node never applies it twice). Returns ``(seq, None)`` once it is
        durable and fanned out, or ``(head, rejection)`` when the rules refuse it now."""
        known = self._refs.get(("", ref))
        if known is not None:
            return known, None
        rejection = check_rules(self.state, "", body)
        if rejection is not None:
            return self.head, rejection
        if self._committer.full:
            return self.head, Rejection(ErrorCode.UNAVAILABLE, "the server cannot write right now")
        event = self._sequence("", ref, body)
        await self._await_commit(event.seq)
        return event.seq, None

    def _committed(self, event: Event, ref: str | None) -> None:
        """Group-commit callback (embedded mode): the event is durable."""
        self._in_flight.pop(event.seq, None)
        self._apply_committed(event)
        if ref is not None:
            self._acked((event.by, ref), event.seq)

    def _unstorable(self, event: Event, ref: str | None, gap: Event | None) -> None:
        """Group-commit callback (embedded mode): the database refused the event itself.
        Its seq holds a ``log.gap`` instead (folded and fanned out like any event), its
        sender gets ``error internal``, and the sequenced state is rebuilt without it."""
        self._in_flight.pop(event.seq, None)
        self._log.error("op refused by the database: not applied", seq=event.seq, by=event.by)
        self._apply_committed(gap or Event(seq=event.seq, ts=event.ts, by="", op=LogGap()))
        if ref is not None:
            err = Error(code=ErrorCode.INTERNAL, message="the server could not store this op: not applied", ref=ref)
            self._started.pop((event.by, ref), None)
            for conn in self._waiting.pop((event.by, ref), ()):
                conn.send(err)
        state = copy_state(self.committed)
        for seq in sorted(self._in_flight):
            apply(state, self._in_flight[seq])
        self.state = state

    def _acked(self, key: tuple[str, str], seq: int) -> None:
        # The window is the room's last ``idempotency_events`` events (SPEC 3.3), the same
        # as a reload from the log rebuilds it: refs are dropped by seq, not by count.
        self._refs[key] = seq
        horizon = self.head - self.settings.idempotency_events
        refs = self._refs
        while refs and next(iter(refs.values())) <= horizon:
            refs.popitem(last=False)
        ack = Ack(ref=key[1], seq=seq)
        started = self._started.pop(key, None)
        if started is not None:
            self.metrics.op_ack_seconds.observe(time.perf_counter() - started)
        for conn in self._waiting.pop(key, ()):
            conn.send(ack)

    def _apply_committed(self, event: Event) -> None:
        """Fold the next event of the log into the visible state and fan it out."""
        apply(self.committed, event)
        self.head = event.seq
        self.history.append(event)
        self._fanout(event)
        waiter = self._commit_waiters.pop(event.seq, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if isinstance(event.op, MemberKick):
            self._kick_connections(event.op.member)
        elif isinstance(event.op, MemberErase):
            self._scrub_history(event.op.member)
            self._kick_connections(event.op.member)
        elif isinstance(event.op, (CallStart, CallEnd)):
            self.calls.folded(event.op)
        if self.extension is not None:
            self.extension.committed(self, event)
        self._since_snapshot += 1
        if self._since_snapshot >= self.settings.snapshot_every:
            self._since_snapshot = 0
            self._committer.enqueue_snapshot(
                SnapshotWrite(room_id=self.id, seq=self.head, state=_state_encoder.encode(self.committed))
            )

    def _scrub_history(self, member: str) -> None:
        """Erasure: the replay window must not hand the member's data to a resuming client."""
        self.history = deque((scrub_event(e, member) for e in self.history), maxlen=self.history.maxlen)

    def _fanout(self, message: ServerMessage) -> None:
        """Deliver a committed event to this room's members (embedded: through the hub)."""
        self._hub.publish(self.id, message)

    async def _await_commit(self, seq: int) -> None:
        if self.head >= seq:
            return
        fut = self._commit_waiters.get(seq)
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
            self._commit_waiters[seq] = fut
        await fut

    # ---- fan-out ---------------------------------------------------------------------

    def _deliver(self, message: ServerMessage) -> None:
        """Hub sink: encode once per wire format in use, push the same bytes to all."""
        started = self._sequenced_at.pop(message.seq, None) if type(message) is Event else None
        if not self.connections:
            return
        frames: dict[str, OutFrame] = {}
        for conn in list(self.connections.values()):
            codec = conn.codec
            frame = frames.get(codec.format)
            if frame is None:
                frame = OutFrame(codec.encode(message), text=not codec.binary)
                frames[codec.format] = frame
            conn.send_frame(frame)
        if started is not None:
            self.metrics.fanout_seconds.observe(time.perf_counter() - started)

    def broadcast(self, message: ServerMessage) -> None:
        """An ephemeral signal for every member of the room."""
        self._hub.publish(self.id, message)

    def presence_list(self) -> list[PresenceMember]:
        return self.presence.online()

    def _presence_changed(self, kind: Literal["join", "update", "leave"], entry: PresenceMember) -> None:
        self.broadcast(PresenceUpdate(kind=kind, member=entry))
        self.calls.sync(local=True)

    def presence_entry(self, member: str) -> PresenceMember | None:
        """The member's presence as the room shows it (all nodes in a cluster)."""
        return self.presence.get(member)

    def presence_updated(self, entry: PresenceMember) -> None:
        """A local presence entry changed (call state): tell the room."""
        self._presence_changed("update", entry)

    # ---- calls: the transport of RoomCalls (SPEC section 14) ------------------------------

    def route_signal(self, to: str, message: SignalRelay) -> None:
        """Deliver a relayed signal to ``to``'s call connection (one node: it is here)."""
        self.calls.deliver(to, message)

    def relay_signal(self, conn: RoomConnection, msg: Signal) -> Rejection | None:
        """A signal for the server's relay (``to: ""``): the relay runs on this node."""
        return self.calls.relay_signal(conn, msg)

    def sequence_system(self, body: EventBody) -> None:
        """Append a server event (call.start / call.end) to the log."""
        if self._committer.full:
            self._log.warning("call event dropped: the database is not keeping up", op=type(body).__name__)
            return
        self._sequence("", None, body)

    # ---- joining and leaving ---------------------------------------------------------

    def refusal(self, member: str) -> JoinRefused | None:
        if self.state.closed:
            return JoinRefused(ErrorCode.ROOM_CLOSED, CloseCode.FORBIDDEN, "this room was closed")
        info = self.state.members.get(member)
        if info is not None and info.kicked:
            return JoinRefused(ErrorCode.KICKED, CloseCode.FORBIDDEN, "you were removed from this room")
        if info is None and self.state.locked:
            return JoinRefused(ErrorCode.ROOM_LOCKED, CloseCode.FORBIDDEN, "the room is locked")
        if info is None and len(self.state.members) >= self.settings.max_room_members:
            return JoinRefused(ErrorCode.TOO_MANY_MEMBERS, CloseCode.ROOM_FULL, "this room cannot take more members")
        if self._full(member):
            return JoinRefused(ErrorCode.ROOM_FULL, CloseCode.ROOM_FULL, "the room is full")
        cap = self.settings.max_connections_per_member
        if self.presence.connections(member) >= cap:
            return JoinRefused(
                ErrorCode.TOO_MANY_CONNECTIONS,
                CloseCode.TOO_MANY_CONNECTIONS,
                f"at most {cap} connections per member: close another tab or device first",
            )
        return None

    def _full(self, member: str) -> bool:
        """SPEC 3.1 ``room_full``, on one node: exact, since the check before registering
        a connection and the registration happen with no await between them."""
        return member not in self.presence and len(self.presence) >= self.settings.max_members

    async def _admit(self, member: str) -> None:
        """A cluster takes the member's seat here (across nodes); one node needs nothing."""

    def _admitted(self, member: str, *, joined: bool) -> None:
        """The join that ``_admit`` let in went through (or not)."""

    async def join(self, conn: RoomConnection, resume: Resume | None) -> None:
        """Admit ``conn``: welcome it, then stream every later event to it. Raises
        ``JoinRefused``. After the membership step, nothing awaits until the connection
        is registered, so no event can fall between the welcome and the stream."""
        refusal = self.refusal(conn.member)
        if refusal is not None:
            raise refusal
        await self._admit(conn.member)
        joined = False
        try:
            if conn.member not in self.state.members:
                if self._committer.full:
                    raise JoinRefused(ErrorCode.UNAVAILABLE, CloseCode.GOING_AWAY, "the server cannot write right now")
                await self._add_member(conn)
            else:
                # the member exists in the sequenced state; wait until that is committed
                await self._await_commit(self.state.seq)
            cursor = await self.cursors.load(conn.member)  # SPEC 15 (None: the database did not answer)
            if cursor == 0:  # no cursor yet: the member has read what it joins into
                self.cursors.seed(conn.member, self.head)
                cursor = self.head
            counted, counted_upto = await self.cursors.count_stored(conn.member, cursor or 0, self.head, self.history)
            refusal = self.refusal(conn.member)  # the room may have changed while we waited
            if refusal is not None:
                raise refusal
            joined = True
        finally:
            self._admitted(conn.member, joined=joined)
        # ---- no await below this line ----
        welcome = self._welcome(conn, resume)
        cursor = clamp_cursor(self.cursors.get(conn.member), self.head)
        if cursor > 0:
            welcome.read = cursor
            if counted_upto < cursor:
                counted, counted_upto = Unread(), cursor
            unread = RoomCursors.count_window(self.committed, conn.member, counted, counted_upto, self.history)
            welcome.unread = None if is_zero(unread) else unread
        conn.send(welcome)
        self.connections[conn.id] = conn
        self._cancel_grace(conn.member)
        kind, entry = self.presence.connect(
            conn.member,
            conn.id,
            name=conn.name,
            role=conn.role,
            device=conn.device,
            in_store=bool(getattr(conn, "in_store", False)),
        )
        self._presence_changed(kind, entry)

    async def _add_member(self, conn: RoomConnection) -> None:
        pending = self._joining.get(conn.member)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self._joining[conn.member] = pending
            event = self._sequence("", None, MemberJoin(member=conn.member, name=conn.name, role=conn.role))
            try:
                await self._await_commit(event.seq)
            finally:
                self._joining.pop(conn.member, None)
                if not pending.done():
                    pending.set_result(None)
        else:
            await asyncio.shield(pending)

    def _welcome(self, conn: RoomConnection, resume: Resume | None) -> Welcome:
        common = {
            "room": self.id,
            "member": conn.member,
            "role": conn.role,
            "epoch": self.epoch,
            "seq": self.head,
            "presence": self.presence_list(),
            "limits": self.settings.wire_limits(),
            "server": "cosession",
            "ice": ice_servers(self.settings, conn.member),
        }
        if resume is not None and resume.epoch == self.epoch and resume.seq <= self.head:
            missed = self.head - resume.seq
            if missed == 0:
                return Welcome(recovered=True, events=[], **common)  # type: ignore[arg-type]
            if missed <= len(self.history) and self.history[-missed].seq == resume.seq + 1:
                events = list(self.history)[-missed:]
                return Welcome(recovered=True, events=events, **common)  # type: ignore[arg-type]
        return Welcome(recovered=False, snapshot=self.committed, **common)  # type: ignore[arg-type]

    def leave(self, conn: RoomConnection) -> None:
        if self.connections.pop(conn.id, None) is None:
            return
        self.calls.connection_closed(conn)
        change = self.presence.disconnect(conn.member, conn.id)
        if change is not None:
            self._presence_changed(*change)
        elif self.presence.in_grace(conn.member):
            loop = asyncio.get_running_loop()
            entry = self.presence.get(conn.member)
            # SPEC 15: a member whose last connection was in the background stays "away"
            grace = self.settings.away_grace if entry is not None and entry.away else self.settings.presence_grace
            self._grace_timers[conn.member] = loop.call_later(grace, self._grace_over, conn.member)
        if not self.connections:
            self._on_empty(self)

    def _grace_over(self, member: str) -> None:
        self._grace_timers.pop(member, None)
        change = self.presence.expire(member)
        if change is not None:
            self._presence_changed(*change)
            self._member_gone(change[1], f"grace:{now_ms()}")

    def _member_gone(self, entry: PresenceMember, key: str) -> None:
        """The member's last connection left after the grace: tell the webhooks (a kicked
        member's ``member.kick`` event already did)."""
        info = self.state.members.get(entry.member)
        if self.on_member_left is None or (info is not None and info.kicked):
            return
        self.on_member_left(self.id, entry.member, entry.name, self.head, now_ms(), key)

    def _cancel_grace(self, member: str) -> None:
        timer = self._grace_timers.pop(member, None)
        if timer is not None:
            timer.cancel()

    def _kick_connections(self, member: str) -> None:
        self._cancel_grace(member)
        self.calls.forget(member)
        for conn in [c for c in self.connections.values() if c.member == member]:
            self.connections.pop(conn.id, None)
            conn.send(Error(code=ErrorCode.KICKED, message="you were removed from this room"))
            conn.close(CloseCode.FORBIDDEN, "kicked")
        change = self.presence.remove(member)
        if change is not None:
            self._presence_changed(*change)
        if not self.connections:
            self._on_empty(self)

    # ---- ephemeral signals -----------------------------------------------------------

    def focus(self, conn: RoomConnection, product: Product | None) -> None:
        self.presence.set_focus(conn.member, product)
        self.broadcast(FocusSignal(member=conn.member, product=product))
        entry = self.presence.get(conn.member)
        if entry is not None:
            self._presence_stored(entry)

    def _presence_stored(self, entry: PresenceMember) -> None:
        """A local presence entry changed without a presence message (focus, follow)."""

    def read(self, conn: RoomConnection, seq: int) -> None:
        """``read {seq}`` (SPEC 15): move the member's cursor forward and tell its other
        connections (on every node)."""
        moved = self.cursors.read(conn.member, seq, self.head)
        if moved is not None:
            self._send_cursor(conn.member, moved, skip=conn.id)
            self._cursor_moved(conn.member, moved)

    def _send_cursor(self, member: str, seq: int, skip: int | None = None) -> None:
        message = ReadSignal(seq=seq)
        for other in list(self.connections.values()):
            if other.member == member and other.id != skip:
                other.send(message)

    def _cursor_moved(self, member: str, seq: int) -> None:
        """A cursor moved on this node (a cluster tells the other nodes)."""

    def away(self, conn: RoomConnection, on: bool) -> None:
        """``away {on}`` (SPEC 15): the connection went to the background, or came back."""
        entry = self.presence.set_away(conn.member, conn.id, on)
        if entry is not None:
            self._presence_changed("update", entry)

    def typing(self, conn: RoomConnection, on: bool) -> None:
        self.broadcast(TypingSignal(member=conn.member, on=on))

    def follow(self, conn: RoomConnection, target: str | None) -> Rejection | None:
        if target is not None and target not in {p.member for p in self.presence_list()}:
            return Rejection(ErrorCode.NOT_FOUND, f"member {target} is not here")
        self.presence.set_following(conn.member, target)
        self.broadcast(FollowSignal(member=conn.member, target=target))
        entry = self.presence.get(conn.member)
        if entry is not None:
            self._presence_stored(entry)
        return None

    # ---- lifecycle -------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        return not self.connections and self.pending == 0 and not self._joining

    def close_all(self, code: int, reason: str) -> None:
        for conn in list(self.connections.values()):
            conn.close(code, reason)

    def unload(self) -> None:
        self.unloaded = True
        self.calls.close()
        for timer in self._grace_timers.values():
            timer.cancel()
        self._grace_timers.clear()
        self._hub.detach(self.id)


PresenceChange = Change
