"""``Metering``: times and checks every frame one ``RoomClient`` exchanges.

It is the client's observer (``cosession_client.observer``): the client calls it, nothing
of the client is subclassed or reached into.

* ``connecting`` / ``opened``: connect time (TCP + WebSocket handshake); ``frame_out``
  of the hello and ``frame_in`` of the welcome: hello→welcome;
* ``frame_out``: when each op ref was first written (for op→ack), resends, signals;
* ``frame_in``: every server frame, in arrival order, *before* the client's own logic
  drops duplicates or turns a gap into a reconnect. This is where the event stream is
  checked: after each welcome the next event must be ``seq + 1``; anything else is a
  finding (``gap``, ``duplicate``), and a recovered welcome must replay exactly the
  events after the resume point (``replay_mismatch``). The client repairs all of these
  by itself, which is why the load tool must look at the wire and not at ``events()``;
* ``disconnected`` / ``dropping`` / ``stopped``: connected gauge, disconnects by close
  code, resume timing, members that stopped.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

import msgspec

from cosession_client import ConnectionClosedFinal, Resynced, RoomClient
from loadtest.meter import Meter
from loadtest.stamps import now_ns, read_stamp
from protocol.messages import (
    CLIENT_OP_TYPES,
    SYSTEM_OP_TYPES,
    Ack,
    ClientMessage,
    Error,
    Event,
    Hello,
    Op,
    RoomState,
    ServerMessage,
    Welcome,
)

KIND: Final[dict[type, str]] = {cls: str(cls.__struct_config__.tag) for cls in (*CLIENT_OP_TYPES, *SYSTEM_OP_TYPES)}


_RETRIED: Final = frozenset({"unavailable", "rate_limited"})


def state_digest(state: RoomState) -> str:
    """A digest of a room state that ignores map order (maps compare unordered)."""
    return hashlib.sha256(msgspec.json.encode(state, order="sorted")).hexdigest()[:20]


class Metering:
    """The observer of one member's client: the meter's counters, histograms, findings."""

    def __init__(
        self,
        meter: Meter,
        *,
        room_index: int,
        check_kind: str | None = None,
        node: int = 0,
        split_nodes: bool = False,
    ) -> None:
        self.meter = meter
        self.node = node  # the node this client talks to (index into the run's URLs)
        self.split_nodes = split_nodes  # also time deliveries as same-node / cross-node
        self.room_index = room_index
        self.check_kind = check_kind  # op kind counted per client (fan-out count check)
        self.check_acked = 0
        self.check_seqs: list[int] = []  # seqs of the acked ops of that kind
        self.check_delivered = 0
        self._t_open = 0
        self._t_hello = 0
        self._t_lost: int | None = None  # when the last connection was lost
        self._t_drop: int | None = None  # set by dropping() (a drop we caused)
        self._op_sent: dict[str, tuple[int, str]] = {}  # ref -> (first write, op kind)
        self._expected = 0  # last seq received in order on the wire
        self._resume: tuple[str, int] | None = None  # (epoch, seq) the last hello resumed from
        self._room = ""
        self._member = ""
        self.first_seq: int | None = None  # the room's head at this client's first welcome
        self.delivered = 0
        self.skipped = 0

    # ---- connection lifecycle --------------------------------------------------------------

    def connecting(self) -> None:
        self._t_open = now_ns()
        self.meter.c["connect_attempts"] += 1

    def opened(self) -> None:
        self.meter.hist["connect"].record_ns(now_ns() - self._t_open)

    def connect_failed(self, code: int, reason: str, error: str | None) -> None:
        self.meter.c["connect_failures"] += 1
        if error is None:  # (an error frame was already counted by its code)
            self.meter.error("connect_failed")

    def joined(self, resynced: Resynced) -> None:
        self.meter.connected += 1

    def disconnected(self, code: int, reason: str, *, retrying: bool, by_client: bool) -> None:
        meter = self.meter
        meter.connected -= 1
        induced = self._t_drop is not None
        self._t_lost = self._t_drop if self._t_drop is not None else now_ns()
        self._t_drop = None
        meter.disconnects[str(code)] += 1
        if not induced and not by_client:
            meter.error(f"close_{code}")

    def dropping(self) -> None:
        self._t_drop = now_ns()
        self.meter.c["drops"] += 1

    def stopped(self, why: ConnectionClosedFinal, *, by_client: bool) -> None:
        if not by_client:
            self.meter.c["members_stopped"] += 1
            if why.error is None:  # (an error frame before the close was counted by its code)
                self.meter.error(f"stopped_{why.code}")

    # ---- frames ------------------------------------------------------------------------

    def frame_out(self, msg: ClientMessage) -> None:
        now = now_ns()
        meter = self.meter
        if type(msg) is Op:
            if msg.ref in self._op_sent:
                meter.c["ops_resent"] += 1
            else:
                kind = KIND.get(type(msg.op), "?")
                self._op_sent[msg.ref] = (now, kind)
                meter.c["ops_sent"] += 1
                meter.sent_by_kind[kind] += 1
        elif type(msg) is Hello:
            self._t_hello = now
            self._resume = None if msg.resume is None else (msg.resume.epoch, msg.resume.seq)
        else:
            meter.c["signals_sent"] += 1

    def frame_in(self, msg: ServerMessage) -> None:
        now = now_ns()
        meter = self.meter
        meter.c["messages"] += 1
        kind = type(msg)
        if kind is Event:
            assert isinstance(msg, Event)
            self._on_event(msg, now, live=True)
        elif kind is Ack:
            assert isinstance(msg, Ack)
            sent = self._op_sent.pop(msg.ref, None)
            if sent is not None:
                meter.c["ops_acked"] += 1
                meter.acked_by_kind[sent[1]] += 1
                if sent[1] == self.check_kind:
                    self.check_acked += 1
                    self.check_seqs.append(msg.seq)
                meter.hist["op_ack"].record_ns(now - sent[0])
        elif kind is Error:
            assert isinstance(msg, Error)
            meter.error(msg.code)
            # (unavailable, rate_limited: the client re-sends it later with the same ref)
            if msg.ref and msg.code not in _RETRIED and self._op_sent.pop(msg.ref, None) is not None:
                meter.c["ops_rejected"] += 1
        elif kind is Welcome:
            assert isinstance(msg, Welcome)
            self._on_welcome(msg, now)

    def _on_welcome(self, welcome: Welcome, now: int) -> None:
        meter = self.meter
        meter.c["welcomes"] += 1
        self._room, self._member = welcome.room, welcome.member
        if self._t_hello:
            meter.hist["welcome"].record_ns(now - self._t_hello)
        resume_epoch, resume_point = self._resume or (None, 0)  # what the client applied: it resumed from here
        first = self.first_seq is None
        if first:
            self.first_seq = welcome.seq
        else:
            meter.c["resumes"] += 1
            meter.c["resumes_recovered" if welcome.recovered else "resumes_snapshot"] += 1
            if self._t_lost is not None:
                meter.hist["resume"].record_ns(now - self._t_lost)
                self._t_lost = None
            if resume_epoch is not None and welcome.epoch != resume_epoch:
                meter.c["epoch_changes"] += 1
        if welcome.recovered:
            self._expected = resume_point
            for event in welcome.events:
                self._on_event(event, now, live=False)
            if self._expected != welcome.seq:
                meter.finding(
                    "replay_mismatch",
                    room=welcome.room,
                    member=welcome.member,
                    resume=resume_point,
                    replayed_to=self._expected,
                    head=welcome.seq,
                )
            return
        if not first and welcome.epoch == resume_epoch:
            if welcome.seq >= resume_point:
                skipped = welcome.seq - resume_point
                self.skipped += skipped
                meter.c["snapshot_skipped"] += skipped
            else:
                meter.finding("went_back", room=welcome.room, member=welcome.member, had=resume_point, got=welcome.seq)
        self._expected = welcome.seq

    def _on_event(self, event: Event, now: int, *, live: bool) -> None:
        meter = self.meter
        seq = event.seq
        expected = self._expected + 1
        if seq == expected:
            self._expected = seq
            self.delivered += 1
            meter.c["delivered"] += 1
            meter.c["events_live" if live else "events_replayed"] += 1
            op = event.op
            kind = KIND.get(type(op), "?")
            meter.delivered_by_kind[kind] += 1
            if kind == self.check_kind:
                self.check_delivered += 1
            if live and event.by != self._member:
                stamp = read_stamp(op)
                if stamp is not None:
                    meter.hist["op_delivery"].record_ns(now - stamp.ns)
                    if self.split_nodes:
                        link = "op_delivery_same_node" if stamp.node == self.node else "op_delivery_cross_node"
                        meter.hist[link].record_ns(now - stamp.ns)
        elif seq < expected:
            meter.finding("duplicate", room=self._room, member=self._member, expected=expected, got=seq, live=live)
        else:
            meter.finding("gap", room=self._room, member=self._member, expected=expected, got=seq, live=live)
            # the client reconnects with resume from its own state: the next welcome resets us


class MeteredClient:
    """A ``RoomClient`` and the ``Metering`` that observes it (composition, no subclass)."""

    def __init__(self, metering: Metering, **options: Any) -> None:
        self.metering = metering
        self.client = RoomClient(observer=metering, **options)
