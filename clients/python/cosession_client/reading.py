"""``ReadTracker``: the member's read cursor and unread counts, as the client sees them.

Pure bookkeeping (no I/O; SPEC section 15). The welcome brings the stored cursor and the
counts after it ("since you were here"); events that arrive later are counted as they
come; ``mark`` moves the cursor when the application has shown events; a ``read`` from
another device of the member moves it too. Counting is ``protocol/unread.py``'s, so the
figures agree with what the server reports at the next welcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from protocol.messages import Chat, Event, Unread, Welcome
from protocol.unread import add, kind_of, op_type

LIVE_KEEP = 10_000  # counted live events remembered (older ones are read or summarised)


@dataclass
class ReadTracker:
    member: str = ""
    cursor: int = 0  # the member's read cursor (the largest seq known read)
    since: Unread = field(default_factory=Unread)  # the welcome's counts: "since you were here"
    welcome_seq: int = 0  # the head at the last welcome
    welcome_read: int = 0  # the cursor the last welcome reported
    _live: list[tuple[int, str]] = field(default_factory=list)  # (seq, kind) of counted events after the welcome

    def welcome(self, welcome: Welcome) -> None:
        self.member = welcome.member
        self.welcome_read = welcome.read
        self.cursor = min(max(self.cursor, welcome.read), welcome.seq)
        self.since = welcome.unread or Unread()
        self.welcome_seq = welcome.seq
        self._live = []

    def event(self, event: Event) -> None:
        kind = kind_of(event.by, op_type(event), self.member)
        if event.seq <= self.welcome_seq:
            return
        if kind is not None:
            self._live.append((event.seq, kind))
        if kind == "messages" and isinstance(event.op, Chat) and self.member in event.op.mentions:
            self._live.append((event.seq, "mentions"))
        if len(self._live) > LIVE_KEEP:
            del self._live[: len(self._live) - LIVE_KEEP]

    def mark(self, seq: int) -> bool:
        """The application showed everything up to ``seq``: whether the cursor moved."""
        if seq <= self.cursor:
            return False
        self.cursor = seq
        return True

    def heard(self, seq: int) -> None:
        """Another connection of the member moved the cursor (server ``read``)."""
        self.cursor = max(self.cursor, seq)

    @property
    def unread(self) -> Unread:
        """What is unread now: the welcome's counts while the cursor is before the welcome's
        head, plus the counted events after both."""
        base = self.since if self.cursor < self.welcome_seq else Unread(questions=self.since.questions)
        after = max(self.cursor, self.welcome_seq)
        messages = sum(1 for seq, kind in self._live if seq > after and kind == "messages")
        cart = sum(1 for seq, kind in self._live if seq > after and kind == "cart")
        mentions = sum(1 for seq, kind in self._live if seq > after and kind == "mentions")
        return add(base, Unread(messages=messages, cart=cart, questions=base.questions, mentions=mentions))
