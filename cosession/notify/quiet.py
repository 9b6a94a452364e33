"""The quiet rule: at most one notification per member per room per window. Pure.

A member's row holds ``window_until`` (ms, 0: none) and the reasons that arrived inside
the window (``pending``). A new reason outside the window is sent now and opens a window
of ``quiet_ms``; inside it, it only adds to ``pending``. When the window ends with
something pending, the digest sweep sends one digest (``digest: true``) with the counts,
which opens the next window. So a member gets at most one message per window, and
nothing a window absorbed is lost.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Window:
    window_until: int = 0  # ms
    pending: dict[str, int] = field(default_factory=dict)
    pending_pos: int = 0


@dataclass(frozen=True)
class Decision:
    send: dict[str, int] | None  # reasons (counts) to send now; None: absorbed into the window
    window: Window  # the row afterwards


def arrive(window: Window, reasons: list[str], pos: int, now: int, quiet_ms: int) -> Decision:
    """Reasons caused by the event at ``pos``, for one member, at ``now``."""
    counts = dict(Counter(reasons))
    if now >= window.window_until and not window.pending:
        return Decision(
            send=counts, window=Window(window_until=now + quiet_ms, pending_pos=max(pos, window.pending_pos))
        )
    pending = dict(window.pending)
    for reason, n in counts.items():
        pending[reason] = pending.get(reason, 0) + n
    return Decision(send=None, window=Window(window.window_until, pending, max(pos, window.pending_pos)))


def due(window: Window, now: int) -> bool:
    """The window ended with something pending: a digest is due."""
    return bool(window.pending) and now >= window.window_until


def digest(window: Window, now: int, quiet_ms: int) -> Decision:
    """Send what the window gathered (call when ``due``); the digest opens the next window."""
    return Decision(
        send=dict(window.pending), window=Window(window_until=now + quiet_ms, pending_pos=window.pending_pos)
    )
