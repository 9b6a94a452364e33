"""A room's call on this node: who holds it through which connection, and the relaying of
``signal`` frames between participants (SPEC section 14).

Who is in the call is part of presence (``PresenceMember.call``), so it travels between
nodes like any presence change; this object keeps what only this node knows: the *call
connection* of each local participant (the one that sent ``call.join``), the ``call``
message last sent, and the timers that take a participant out of the call when its call
connection dropped and did not come back within the presence grace. The roster order
comes from presence alone (``CallState.joined``, then member id), so every node of a
cluster lists the same participants in the same order. The room owns the transport: it
routes a relayed signal to the addressee's call connection (on this node, or through the
cluster) and sequences ``call.start`` / ``call.end``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Literal

import msgspec

from protocol.errors import ErrorCode
from protocol.messages import (
    CallEnd,
    CallInfo,
    CallJoin,
    CallLeave,
    CallStart,
    CallState,
    CallStateChange,
    PresenceMember,
    Signal,
    SignalRelay,
)
from protocol.reducer import Rejection

if TYPE_CHECKING:
    from cosession.calls.placement import Relay, RelayPlacement
    from cosession.calls.relay import CallRelay
    from cosession.rooms.room import Room, RoomConnection

CallMessage = CallJoin | CallLeave | CallStateChange | Signal
Mode = Literal["mesh", "relay"]


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


class RoomCalls:
    def __init__(self, room: Room) -> None:
        self.room = room
        self.call_conns: dict[str, RoomConnection] = {}  # member -> its call connection (here)
        self._sent: CallInfo | None = None  # last `call` message sent to local participants
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._active: bool | None = None  # call.start/end asked for and not yet folded
        self._since: int = 0  # ts of the call.start this node asked for
        self.relay: Relay | None = None  # the server relay, while the call is in relay mode
        self.placement: RelayPlacement | None = None  # cluster: which node hosts the relay

    # ---- requests from a connection -------------------------------------------------

    def handle(self, conn: RoomConnection, msg: CallMessage) -> Rejection | None:
        refused = self._refusal(conn)
        if refused is not None:
            return refused
        if isinstance(msg, Signal):
            return self.signal(conn, msg)
        if isinstance(msg, CallJoin):
            self.join(conn, msg.audio, msg.video)
            return None
        if isinstance(msg, CallLeave):
            self.leave(conn.member)
            return None
        return self.change(conn, msg)

    def _refusal(self, conn: RoomConnection) -> Rejection | None:
        info = self.room.committed.members.get(conn.member)
        if info is None or info.kicked:
            return Rejection(ErrorCode.FORBIDDEN, "you are not a member of this room")
        if info.role == "viewer" or conn.role == "viewer":
            return Rejection(ErrorCode.FORBIDDEN, "viewers cannot take part in calls")
        return None

    def join(self, conn: RoomConnection, audio: bool, video: bool) -> None:
        member = conn.member
        self._cancel_timer(member)
        self.call_conns[member] = conn  # a later call.join from another connection moves it
        # in the call already (another tab, another node, or within the grace): keep its
        # place in the roster and its mute; the room-wide entry, so a move between nodes too
        shown = self.room.presence_entry(member)
        before = shown.call if shown is not None else None
        joined = before.joined if before is not None and before.joined else self._join_time()
        muted = before.muted if before is not None else False
        state = CallState(audio=audio, video=video, muted=muted, camera=video, joined=joined)
        self._set_state(member, state)
        members = self.members()
        if member not in members:  # no presence entry here (cannot happen with a live conn)
            members = _roster([*self._participants(), (member, state)])
        if self.relay is not None and self.relay.serves(member):  # same roster, a new connection
            self.relay.rejoined(member)
        conn.send(CallInfo(mode=self.mode(len(members)), members=members))

    def leave(self, member: str) -> None:
        self._cancel_timer(member)
        self.call_conns.pop(member, None)
        self._set_state(member, None)

    def change(self, conn: RoomConnection, msg: CallStateChange) -> Rejection | None:
        entry = self.room.presence.get(conn.member)
        if entry is None or entry.call is None or self.call_conns.get(conn.member) is not conn:
            return Rejection(ErrorCode.NOT_FOUND, "you are not in the call")
        changes = {k: v for k, v in msgspec.structs.asdict(msg).items() if v is not None}
        self._set_state(conn.member, msgspec.structs.replace(entry.call, **changes))
        return None

    def signal(self, conn: RoomConnection, msg: Signal) -> Rejection | None:
        if self.call_conns.get(conn.member) is not conn:
            return Rejection(ErrorCode.NOT_FOUND, "you are not in the call (from this connection)")
        relayed = SignalRelay(
            from_=conn.member, kind=msg.kind, sdp=msg.sdp, candidate=msg.candidate, mid=msg.mid, mline=msg.mline
        )
        if msg.to == "":
            return self.room.relay_signal(conn, msg)
        if msg.to == conn.member or not self.in_call(msg.to):
            return Rejection(ErrorCode.NOT_FOUND, f"member {msg.to} is not in the call")
        self.room.route_signal(msg.to, relayed)
        return None

    # ---- connections coming and going ----------------------------------------------------

    def connection_closed(self, conn: RoomConnection) -> None:
        """The call connection dropped: the member stays in the call for the presence
        grace (its media may still flow), then leaves unless it joined again."""
        if self.call_conns.get(conn.member) is not conn:
            return
        del self.call_conns[conn.member]
        member = conn.member
        self._cancel_timer(member)
        loop = asyncio.get_running_loop()
        self._timers[member] = loop.call_later(self.room.settings.presence_grace, self._grace_over, member)

    def _grace_over(self, member: str) -> None:
        self._timers.pop(member, None)
        if member not in self.call_conns:
            self._set_state(member, None)

    def forget(self, member: str) -> None:
        """Kicked: out of the call now (the room removes its presence next)."""
        self._cancel_timer(member)
        self.call_conns.pop(member, None)

    def deliver_relayed(self, to: str, message: SignalRelay) -> None:
        self.deliver(to, message)

    def deliver(self, to: str, message: SignalRelay) -> bool:
        """Send to ``to``'s call connection if this node holds it."""
        conn = self.call_conns.get(to)
        if conn is None:
            return False
        conn.send(message)
        return True

    def moved_away(self, member: str) -> None:
        """Cluster: the member joined the call through a connection on another node."""
        if member in self.call_conns:
            del self.call_conns[member]
            self._cancel_timer(member)
            self._set_state(member, None)

    # ---- who is in the call ----------------------------------------------------------------

    def in_call(self, member: str) -> bool:
        return any(p.member == member and p.call is not None for p in self.room.presence_list())

    def members(self) -> list[str]:
        """The participants in roster order (SPEC 14.2): by ``CallState.joined``, then by
        member id. The only place that orders them: equal presence, equal roster."""
        return _roster(self._participants())

    def _join_time(self) -> int:
        """Now (unix ms), but after every participant this node knows of: a newcomer is
        listed last even within one millisecond or with a clock behind another node's."""
        return max([_now_ms(), *(call.joined + 1 for _, call in self._participants())])

    def _participants(self) -> list[tuple[str, CallState]]:
        return _in_call(self.room.presence_list())

    def mode(self, count: int) -> Mode:
        settings = self.room.settings
        return "relay" if settings.call_mode == "relay" or count > settings.call_mesh_max else "mesh"

    def sync(self, *, local: bool) -> None:
        """After a presence change: tell local participants of a new roster or mode and,
        when this node's own change started or ended the call, log it."""
        members = self.members()
        info = CallInfo(mode=self.mode(len(members)), members=members)
        if info != self._sent:
            self._sent = info
            for conn in list(self.call_conns.values()):
                conn.send(info)
            self._steer_relay(info)
        if local:
            self._log_transition(members)

    def _log_transition(self, members: list[str]) -> None:
        state_call = self.room.state.call
        active = self._active if self._active is not None else state_call is not None
        if members and not active:
            first = self.room.presence_entry(members[0])
            video = bool(first and first.call and first.call.video)
            self._active, self._since = True, _now_ms()
            self.room.sequence_system(CallStart(member=members[0], video=video))
        elif not members and active:
            since = state_call.since if state_call is not None else self._since
            self._active = False
            self.room.sequence_system(CallEnd(duration_ms=max(0, _now_ms() - since)))

    # ---- the server relay (relay mode) ------------------------------------------------------

    def relay_signal(self, conn: RoomConnection, msg: Signal) -> Rejection | None:
        """A signal ``to: ""`` from a participant's call connection (checked by ``signal``)."""
        if self.relay is None or not self.relay.serves(conn.member):
            return Rejection(ErrorCode.NOT_FOUND, "this call has no relay for you")
        self.relay.signal(conn.member, msg)
        return None

    def _steer_relay(self, info: CallInfo) -> None:
        """Start, feed or stop the relay after the roster or the mode changed."""
        if self.placement is not None:  # cluster: one node hosts it (calls/placement.py)
            self.placement.steer(info.members if info.mode == "relay" else [])
            return
        if info.mode != "relay" or not info.members:
            if self.relay is not None:
                self.relay.close()
                self.relay = None
            return
        if self.relay is None:
            self.relay = _new_relay(self)
        if self.relay is not None:
            # participants whose call connection is here: on one node, all but those in grace
            self.relay.roster([m for m in info.members if m in self.call_conns])

    def folded(self, body: CallStart | CallEnd) -> None:
        """A call.start / call.end reached the committed state."""
        self._active = None

    # ---- helpers -------------------------------------------------------------------------------

    def _set_state(self, member: str, state: CallState | None) -> None:
        entry = self.room.presence.get(member)
        if entry is None or entry.call == state:
            return
        self.room.presence.set_call(member, state)
        updated = self.room.presence.get(member)
        assert updated is not None
        self.room.presence_updated(updated)

    def _cancel_timer(self, member: str) -> None:
        timer = self._timers.pop(member, None)
        if timer is not None:
            timer.cancel()

    def close(self) -> None:
        if self.relay is not None:
            self.relay.close()
            self.relay = None
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self.call_conns.clear()


def _in_call(entries: Iterable[PresenceMember]) -> list[tuple[str, CallState]]:
    return [(p.member, p.call) for p in entries if p.call is not None]


def _roster(participants: Iterable[tuple[str, CallState]]) -> list[str]:
    return [member for member, _ in sorted(participants, key=lambda p: (p[1].joined, p[0]))]


_relay_missing_logged = False


def _new_relay(calls: RoomCalls, send: Callable[[str, SignalRelay], None] | None = None) -> CallRelay | None:
    """A relay for the room sending through ``send`` (default: this node's call
    connections), or None (logged once per process) when aiortc is missing: signals to
    ``""`` then stay ``not_found``."""
    global _relay_missing_logged
    try:
        from cosession.calls import relay
    except ImportError as exc:
        if not _relay_missing_logged:
            _relay_missing_logged = True
            import structlog

            structlog.get_logger("cosession.calls").error(
                "call relay unavailable: install the calls extra (aiortc)", error=repr(exc)
            )
        return None
    settings = calls.room.settings
    relay.restrict_host_addresses(settings.call_relay_addresses)
    return relay.CallRelay(send or calls.deliver_relayed, settings.call_relay_max)
