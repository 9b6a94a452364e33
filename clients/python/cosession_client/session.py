"""The room session, sans-I/O: the client's whole connection logic as a pure state machine.

Fed inputs (a connection opened, a decoded server message, a connection closed with a
code, a timer deadline reached, the user's intents) with the current time ``now`` in ms,
it returns outputs (open a connection, send a frame, deliver a message, set the timer,
an op is done or failed, drop or close the connection, stop for good). It owns the room
state folded from the event log, the un-acked ops, gap and duplicate detection, resume,
backoff, pacing against ``welcome.limits`` and the close-code table of SPEC §10. It does
no I/O and reads no clock: ``docs/client-session.md`` is its transition table and
``protocol/vectors/session.json`` holds the cases every client implementation must pass.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from cosession_client.outputs import (
    FINAL_ERRORS,
    RETRY_OP_ERRORS,
    RETRYABLE_CLOSES,
    Bucket,
    Close,
    Deliver,
    Disconnected,
    Done,
    Drop,
    Failed,
    Open,
    Output,
    PendingOp,
    Resynced,
    Send,
    SessionSettings,
    Signal,
    State,
    Stopped,
    Timer,
)
from protocol.messages import (
    Ack,
    ClientOpBody,
    Error,
    Event,
    Focus,
    Follow,
    Hello,
    Op,
    Resume,
    RoomState,
    ServerMessage,
    Welcome,
)
from protocol.reducer import apply as apply_event


class _Lost(Exception):
    """Internal: the server broke the protocol; drop the connection and resume."""


@dataclass
class Session:
    """One member's session with one room. Every input method returns the outputs."""

    settings: SessionSettings
    random: Callable[[], float]  # a draw in [0, 1) for backoff jitter
    state: State = "idle"
    room: RoomState = field(default_factory=RoomState)
    epoch: str | None = None
    welcome: Welcome | None = None  # the last one accepted
    pending: dict[str, PendingOp] = field(default_factory=dict)  # submission order
    awaiting: list[PendingOp] = field(default_factory=list)  # acked, event not folded yet
    my_focus: Focus | None = None
    my_follow: Follow | None = None
    reconnects: int = 0  # completed re-joins after the first one
    violations: int = 0  # protocol violations seen (gaps, bad welcomes)
    stopped: Stopped | None = None
    bucket: Bucket | None = None  # pacing, when live with limits
    last_error: Error | None = None  # the last ref-less error frame of this connection
    _out: list[Output] = field(default_factory=list)
    _outbox: deque[str | Signal] = field(default_factory=deque)  # op refs and signals
    _welcome_by: int | None = None
    _retry_at: int | None = None  # of the reconnect
    _retry_due: dict[str, int] = field(default_factory=dict)  # op ref -> when to re-send it
    _welcomed_at: int = 0
    _failures: int = 0  # consecutive attempts that got no welcome
    _level: int = 0  # backoff exponent of the next reconnect
    _timer: int | None = None

    # ---- inputs -------------------------------------------------------------------------

    def start(self, now: int) -> list[Output]:
        if self.state == "idle":
            self._open()
        return self._done(now)

    def opened(self, now: int) -> list[Output]:
        if self.state == "connecting":
            self.state = "joining"
            self.last_error = None
            self._welcome_by = now + self.settings.welcome_timeout_ms
            s = self.settings
            hello = Hello(token=s.token, resume=self._resume(), client=s.client, version=s.version, device=s.device)
            self._out.append(Send(hello))
        return self._done(now)

    def received(self, now: int, msg: ServerMessage) -> list[Output]:
        try:
            if self.state == "joining":
                self._joining(now, msg)
            elif self.state == "live":
                self._live(now, msg)
        except _Lost as exc:
            self.violations += 1
            self._out.append(Drop(str(exc)))
            self._lost(now, 1006, f"protocol violation: {exc}", retryable=True)
        return self._done(now)

    def closed(self, now: int, code: int, reason: str, *, final: bool = False) -> list[Output]:
        """The connection ended (``final``: it can never be opened, e.g. a bad URL)."""
        if self.state in ("connecting", "joining", "live"):
            error = self.last_error
            retryable = not final and code in RETRYABLE_CLOSES and (error is None or error.code not in FINAL_ERRORS)
            if error is not None and not reason:
                reason = error.message
            self._lost(now, code, reason, retryable=retryable, error=None if error is None else error.code)
        return self._done(now)

    def tick(self, now: int) -> list[Output]:
        if self.state == "joining" and self._welcome_by is not None and now >= self._welcome_by:
            self._out.append(Drop("no welcome in time"))
            self._lost(now, 1006, "no welcome in time", retryable=True)
        elif self.state == "backoff" and self._retry_at is not None and now >= self._retry_at:
            self._open()
        elif self.state == "live" and any(at <= now for at in self._retry_due.values()):
            for op in [op for op in self.pending.values() if self._retry_due.get(op.ref, now + 1) <= now]:
                del self._retry_due[op.ref]
                self._queue(op)  # in submission order
        return self._done(now)

    def submit(self, now: int, ref: str, body: ClientOpBody) -> list[Output]:
        if self.stopped is None and ref not in self.pending:
            op = self.pending[ref] = PendingOp(ref, body)
            if self.state == "live":
                self._queue(op)
        return self._done(now)

    def signal(self, now: int, msg: Signal) -> list[Output]:
        """An ephemeral signal: sent when live, else dropped. Focus and follow are also
        remembered and re-sent after every welcome."""
        if isinstance(msg, Focus):
            self.my_focus = msg if msg.product is not None else None
        elif isinstance(msg, Follow):
            self.my_follow = msg if msg.member is not None else None
        if self.state == "live":
            self._outbox.append(msg)
        return self._done(now)

    def abandon(self, now: int, ref: str) -> list[Output]:
        """The caller gave up on ``ref``: forget it if its frame never went out."""
        op = self.pending.get(ref)
        if op is not None and not op.sent:
            del self.pending[ref]
        return self._done(now)

    def close(self, now: int) -> list[Output]:
        if self.stopped is None:
            if self.state in ("connecting", "joining", "live"):
                self._out.append(Close(1000, "bye"))
            self._finish(1000, "closed by the client", None)
        return self._done(now)

    # ---- reading --------------------------------------------------------------------------

    def _joining(self, now: int, msg: ServerMessage) -> None:
        if isinstance(msg, Error):
            self.last_error = msg  # the close that follows says whether to retry
        elif isinstance(msg, Welcome):
            self._accept(now, msg)
        else:
            raise _Lost(f"expected welcome, got {msg.__struct_config__.tag}")

    def _accept(self, now: int, welcome: Welcome) -> None:
        if welcome.recovered:
            if welcome.epoch != self.epoch:
                raise _Lost(f"recovered welcome for epoch {welcome.epoch}, ours is {self.epoch}")
            for event in welcome.events:
                self._event(event)
            if self.room.seq != welcome.seq:
                raise _Lost(f"replay ended at {self.room.seq}, welcome says {welcome.seq}")
        else:
            snapshot = welcome.snapshot
            if snapshot is None:
                raise _Lost("welcome has neither events nor a snapshot")
            if snapshot.seq != welcome.seq:
                snapshot = msgspec.structs.replace(snapshot, seq=welcome.seq)
            new_epoch = self.epoch is not None and self.epoch != welcome.epoch
            self.epoch = welcome.epoch
            self.room = snapshot
            self._settle(everything=new_epoch)  # old seqs mean nothing now; those ops are in
        if self.welcome is not None:
            self.reconnects += 1
        self.welcome = welcome
        self.state = "live"
        self._welcome_by = None
        self._welcomed_at = now
        self._failures = 0
        self.bucket = Bucket.of(welcome.limits, now)
        self._out.append(Deliver(Resynced(welcome.recovered, welcome.epoch, welcome.seq)))
        self._outbox.clear()
        for signal in (self.my_focus, self.my_follow):
            if signal is not None:
                self._outbox.append(signal)
        self._retry_due.clear()
        for op in self.pending.values():
            op.queued = False
            self._queue(op)

    def _live(self, now: int, msg: ServerMessage) -> None:
        if isinstance(msg, Event):
            self._event(msg)
            return
        if isinstance(msg, Welcome):
            raise _Lost("second welcome on one connection")
        self._out.append(Deliver(msg))
        if isinstance(msg, Ack):
            op = self.pending.pop(msg.ref, None)
            if op is not None:
                self._retry_due.pop(op.ref, None)
                op.acked_seq = msg.seq
                self.awaiting.append(op)
                self._settle(everything=False)
        elif isinstance(msg, Error):
            op = self.pending.get(msg.ref) if msg.ref else None
            if not msg.ref:
                self.last_error = msg
            elif op is None:
                pass  # about an op already answered: nothing to do
            elif msg.code in RETRY_OP_ERRORS:
                op.retries += 1
                self._retry_due[op.ref] = now + self._jitter(op.retries)
            else:
                del self.pending[op.ref]
                self._retry_due.pop(op.ref, None)
                self._out.append(Failed(op.ref, msg.code, msg.message))

    def _event(self, event: Event) -> None:
        """Fold one event and deliver it; drop a duplicate; a gap loses the connection."""
        current = self.room.seq
        if event.seq <= current:
            return
        if event.seq != current + 1:
            raise _Lost(f"gap: event {event.seq} after {current}")
        apply_event(self.room, event)
        self._out.append(Deliver(event))
        self._settle(everything=False)

    def _settle(self, *, everything: bool) -> None:
        keep: list[PendingOp] = []
        for op in self.awaiting:
            assert op.acked_seq is not None
            if everything or op.acked_seq <= self.room.seq:
                self._out.append(Done(op.ref, op.acked_seq))
            else:
                keep.append(op)
        self.awaiting = keep

    # ---- connection lifecycle -------------------------------------------------------------

    def _resume(self) -> Resume | None:
        return None if self.epoch is None else Resume(epoch=self.epoch, seq=self.room.seq)

    def _open(self) -> None:
        self.state = "connecting"
        self._retry_at = None
        self._out.append(Open(self._resume()))

    def _lost(self, now: int, code: int, reason: str, *, retryable: bool, error: str | None = None) -> None:
        was_live = self.state == "live"
        self.state = "backoff"
        self._welcome_by = None
        self.bucket = None
        self._outbox.clear()
        self._retry_due.clear()
        for op in self.pending.values():
            op.queued = False
        retrying = retryable and self.settings.reconnect
        if was_live:
            self._out.append(Deliver(Disconnected(code, reason, retrying)))
        if not retrying:
            self._finish(code, reason, error)
            return
        if was_live:
            if now - self._welcomed_at >= self.settings.stable_ms:
                self._level = 0
        else:
            self._failures += 1
            limit = self.settings.max_attempts
            if limit is not None and self._failures >= limit:
                self._finish(code, f"gave up after {self._failures} attempts: {reason}", error)
                return
        self._retry_at = now + self._jitter(self._level)
        self._level += 1

    def _jitter(self, level: int) -> int:
        base, cap = self.settings.backoff_ms
        delay: float = min(cap, base * 2 ** min(level, 30)) * (0.5 + 0.5 * self.random())
        return math.floor(delay)

    def _finish(self, code: int, reason: str, error: str | None) -> None:
        refs = tuple(op.ref for op in [*self.pending.values(), *self.awaiting])
        self.pending.clear()
        self.awaiting.clear()
        self._outbox.clear()
        self._retry_due.clear()
        self.state = "closed"
        self._retry_at = self._welcome_by = None
        self.stopped = Stopped(code, reason, error, refs)
        self._out.append(self.stopped)

    # ---- sending --------------------------------------------------------------------------

    def _queue(self, op: PendingOp) -> None:
        if not op.queued:
            op.queued = True
            self._outbox.append(op.ref)

    def _flush(self, now: int) -> None:
        bucket = self.bucket if self.bucket is not None and self.bucket.rate > 0 else None
        if bucket is not None:
            bucket.refill(now)
        while self._outbox:
            entry = self._outbox[0]
            op = self.pending.get(entry) if isinstance(entry, str) else None
            if isinstance(entry, str) and (op is None or not op.queued):
                self._outbox.popleft()  # acked or abandoned while it waited
                continue
            if bucket is not None:
                if bucket.tokens < 1:
                    return
                bucket.tokens -= 1
            self._outbox.popleft()
            if op is not None:
                op.queued = False
                op.sent = True
                self._out.append(Send(Op(ref=op.ref, op=op.body)))
            else:
                assert not isinstance(entry, str)
                self._out.append(Send(entry))

    def _deadline(self, now: int) -> int | None:
        times: list[int] = []
        if self.state == "joining" and self._welcome_by is not None:
            times.append(self._welcome_by)
        elif self.state == "backoff" and self._retry_at is not None:
            times.append(self._retry_at)
        elif self.state == "live":
            times += self._retry_due.values()
            if self._outbox and self.bucket is not None and self.bucket.rate > 0:
                times.append(self.bucket.wake_at(now))
        return min(times) if times else None

    def _done(self, now: int) -> list[Output]:
        if self.state == "live":
            self._flush(now)
        deadline = self._deadline(now)
        if deadline != self._timer:
            self._timer = deadline
            self._out.append(Timer(deadline))
        out, self._out = self._out, []
        return out


__all__ = [
    "FINAL_ERRORS",
    "Close",
    "Deliver",
    "Disconnected",
    "Done",
    "Drop",
    "Failed",
    "Open",
    "Output",
    "PendingOp",
    "Resynced",
    "Send",
    "Session",
    "SessionSettings",
    "State",
    "Stopped",
    "Timer",
]
