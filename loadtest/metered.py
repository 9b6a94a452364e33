"""``MeteredClient``: a ``RoomClient`` that times and checks every frame it exchanges.

``RoomClient`` has no instrumentation hooks, so this subclass wraps four of its private
steps (the client lives in this repository and its tests pin these names):

* ``_open`` / ``_hello``: connect time (TCP + WebSocket handshake) and hello→welcome;
* ``_write``: when each op ref was first written (for op→ack), resends, signals;
* ``_decode``: every server frame, in arrival order, *before* the client's own logic
  drops duplicates or turns a gap into a reconnect. This is where the event stream is
  checked: after each welcome the next event must be ``seq + 1``; anything else is a
  finding (``gap``, ``duplicate``), and a recovered welcome must replay exactly the
  events after the resume point (``replay_mismatch``). The client repairs all of these
  by itself, which is why the load tool must look at the wire and not at ``events()``;
* ``_serve``: connected gauge, disconnects by close code, resume timing.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

import msgspec
from websockets.asyncio.client import ClientConnection

from cosession_client.client import RoomClient, _Disconnect
from cosession_client.errors import ConnectionClosedFinal
from loadtest.meter import Meter
from loadtest.stamps import now_ns, read_stamp
from protocol.messages import (
    CLIENT_OP_TYPES,
    SYSTEM_OP_TYPES,
    Ack,
    Error,
    Event,
    Hello,
    Op,
    RoomState,
    Welcome,
)

KIND: Final[dict[type, str]] = {cls: str(cls.__struct_config__.tag) for cls in (*CLIENT_OP_TYPES, *SYSTEM_OP_TYPES)}


_RETRIED: Final = frozenset({"unavailable", "rate_limited"})


def state_digest(state: RoomState) -> str:
    """A digest of a room state that ignores map order (maps compare unordered)."""
    return hashlib.sha256(msgspec.json.encode(state, order="sorted")).hexdigest()[:20]


class MeteredClient(RoomClient):
    def __init__(
        self,
        *,
        meter: Meter,
        room_index: int,
        check_kind: str | None = None,
        node: int = 0,
        split_nodes: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
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
        self._t_drop: int | None = None  # set by _drop_connection (a drop we caused)
        self._op_sent: dict[str, tuple[int, str]] = {}  # ref -> (first write, op kind)
        self._expected = 0  # last seq received in order on the wire
        self.first_seq: int | None = None  # the room's head at this client's first welcome
        self.delivered = 0
        self.skipped = 0

    # ---- connection steps --------------------------------------------------------------

    async def _open(self) -> tuple[ClientConnection, Welcome]:
        self._t_open = now_ns()
        self.meter.c["connect_attempts"] += 1
        try:
            return await super()._open()
        except _Disconnect as why:
            self.meter.c["connect_failures"] += 1
            if why.error is None:  # (an error frame was already counted by its code)
                self.meter.error("connect_failed")
            raise

    async def _hello(self, ws: ClientConnection) -> tuple[ClientConnection, Welcome]:
        self.meter.hist["connect"].record_ns(now_ns() - self._t_open)
        return await super()._hello(ws)

    async def _serve(self, ws: ClientConnection, welcome: Welcome) -> _Disconnect:
        meter = self.meter
        meter.connected += 1
        lost: _Disconnect | None = None
        try:
            lost = await super()._serve(ws, welcome)
            return lost
        finally:
            meter.connected -= 1
            if lost is not None:
                induced = self._t_drop is not None
                self._t_lost = self._t_drop if self._t_drop is not None else now_ns()
                self._t_drop = None
                meter.disconnects[str(lost.code)] += 1
                if not induced and not self._closing:
                    meter.error(f"close_{lost.code}")

    def _drop_connection(self) -> None:
        if self._ws is not None:
            self._t_drop = now_ns()
            self.meter.c["drops"] += 1
        super()._drop_connection()

    def _finish(self, reason: ConnectionClosedFinal) -> None:
        if self._final is None and not self._closing:
            self.meter.c["members_stopped"] += 1
            if reason.error is None:  # (an error frame before the close was counted by its code)
                self.meter.error(f"stopped_{reason.code}")
        super()._finish(reason)

    # ---- frames ------------------------------------------------------------------------

    async def _write(self, ws: ClientConnection, msg: object) -> None:
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
        else:
            meter.c["signals_sent"] += 1
        await super()._write(ws, msg)

    def _decode(self, frame: bytes | str) -> object:
        now = now_ns()
        msg = super()._decode(frame)
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
        return msg

    def _on_welcome(self, welcome: Welcome, now: int) -> None:
        meter = self.meter
        meter.c["welcomes"] += 1
        if self._t_hello:
            meter.hist["welcome"].record_ns(now - self._t_hello)
        resume_point = self._state.seq  # what the client applied: it resumed from here
        first = self.first_seq is None
        if first:
            self.first_seq = welcome.seq
        else:
            meter.c["resumes"] += 1
            meter.c["resumes_recovered" if welcome.recovered else "resumes_snapshot"] += 1
            if self._t_lost is not None:
                meter.hist["resume"].record_ns(now - self._t_lost)
                self._t_lost = None
            if self._epoch is not None and welcome.epoch != self._epoch:
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
        if not first and welcome.epoch == self._epoch:
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
