"""The values of the room session: its settings, the outputs a shell executes, the two
synthetic messages it delivers, and the records it keeps (pending ops, pacing bucket).

The session (``session.py``) is pure and so is everything here; ``docs/client-session.md``
documents each one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

from protocol.errors import RETRYABLE_CLOSE_CODES, ErrorCode
from protocol.messages import (
    Away,
    ClientOpBody,
    Device,
    Focus,
    Follow,
    Hello,
    Limits,
    Op,
    Ping,
    Read,
    Resume,
    ServerMessage,
    Typing,
)

# Error codes that mean "this token / member will never get in": a close after one is final.
FINAL_ERRORS: Final = frozenset(
    {
        ErrorCode.UNAUTHORIZED,
        ErrorCode.TOKEN_EXPIRED,
        ErrorCode.FORBIDDEN,
        ErrorCode.KICKED,
        ErrorCode.ROOM_NOT_FOUND,
        ErrorCode.ROOM_FULL,
        ErrorCode.TOO_MANY_MEMBERS,
        ErrorCode.TOO_MANY_CONNECTIONS,
    }
)
RETRY_OP_ERRORS: Final = frozenset({ErrorCode.UNAVAILABLE, ErrorCode.RATE_LIMITED})  # same ref, later
RETRYABLE_CLOSES: Final = RETRYABLE_CLOSE_CODES  # 1006 (no close frame) included

State = Literal["idle", "connecting", "joining", "live", "backoff", "closed"]
Signal: TypeAlias = Focus | Typing | Follow | Ping | Read | Away


@dataclass(frozen=True)
class SessionSettings:
    """What a session is configured with (times in ms)."""

    token: str
    client: str = "python"
    version: str = ""
    device: Device = "bot"
    reconnect: bool = True
    max_attempts: int | None = None  # consecutive attempts without a welcome, then stop
    backoff_ms: tuple[int, int] = (250, 30_000)  # first delay, cap
    stable_ms: int = 5_000  # a connection live this long resets the backoff when it ends
    welcome_timeout_ms: int = 10_000


# ---- synthetic messages delivered to the application ------------------------------------


@dataclass(frozen=True)
class Resynced:
    """Synthetic message: a (re)join completed.

    ``recovered=True``: the missed events were replayed (and delivered before this item),
    the stream is contiguous. ``recovered=False``: the state was replaced by a snapshot
    at ``seq``; events before it were not delivered.
    """

    recovered: bool
    epoch: str
    seq: int


@dataclass(frozen=True)
class Disconnected:
    """Synthetic message: the connection was lost. ``retrying``: the client reconnects on
    its own (a ``Resynced`` follows); else it stopped for good."""

    code: int
    reason: str
    retrying: bool


# ---- outputs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Open:
    """Open a connection; its hello will resume from ``resume`` (None: a fresh join)."""

    resume: Resume | None


@dataclass(frozen=True)
class Send:
    msg: Hello | Op | Signal


@dataclass(frozen=True)
class Deliver:
    msg: ServerMessage | Resynced | Disconnected


@dataclass(frozen=True)
class Timer:
    """Call ``tick`` at ``at`` ms (replaces the previous timer; None: no timer)."""

    at: int | None


@dataclass(frozen=True)
class Done:
    """The op ``ref`` is acked at ``seq`` and folded into the state."""

    ref: str
    seq: int


@dataclass(frozen=True)
class Failed:
    """The server refused the op ``ref``; it will not be applied."""

    ref: str
    code: str
    message: str


@dataclass(frozen=True)
class Drop:
    """Abort the connection without a close handshake; feed no more inputs from it."""

    reason: str


@dataclass(frozen=True)
class Close:
    """Close the connection (or abandon opening it) with this code."""

    code: int
    reason: str


@dataclass(frozen=True)
class Stopped:
    """Stopped for good: ``refs`` are the ops that will never be answered now."""

    code: int
    reason: str
    error: str | None
    refs: tuple[str, ...]


Output: TypeAlias = Open | Send | Deliver | Timer | Done | Failed | Drop | Close | Stopped


@dataclass(eq=False)
class PendingOp:
    ref: str
    body: ClientOpBody
    sent: bool = False  # its frame was handed out at least once
    queued: bool = False  # waiting in the paced outbox
    retries: int = 0  # `unavailable` / `rate_limited` answers so far
    acked_seq: int | None = None


@dataclass
class Bucket:
    """Mirror of the server's per-connection token bucket, with a safety margin."""

    rate: float  # tokens per second
    burst: float
    tokens: float
    updated: int

    @classmethod
    def of(cls, limits: Limits | None, now: int) -> Bucket | None:
        if limits is None or limits.ops_per_second <= 0:
            return None
        # a quarter second's worth (at least 2) of the server's burst is left unused: frames
        # that a busy server reads late arrive together, and this is how much they may bunch
        margin = max(2, math.ceil(limits.ops_per_second / 4))
        burst = float(max(1, limits.ops_burst - margin))
        return cls(rate=limits.ops_per_second * 0.9, burst=burst, tokens=burst, updated=now)

    def refill(self, now: int) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate / 1000)
        self.updated = now

    def wake_at(self, now: int) -> int:
        return now + math.ceil((1 - self.tokens) * 1000 / self.rate)
