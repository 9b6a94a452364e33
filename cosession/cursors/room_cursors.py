"""One room's read cursors on this node: pure bookkeeping plus the writer to the store.

The room calls ``load`` when a member's connection joins (the stored cursor), ``read``
when a connection sends ``read {seq}`` and ``heard`` when another node says a cursor
moved. A cursor only moves forward, and never past the room's head (a larger seq is
clamped to the head, SPEC 15). ``unread`` counts what the welcome reports: from the
room's replay window when it holds the tail, else from the SQL log (bounded).
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from cosession.cursors.writer import CursorWriter
from protocol.messages import Event, RoomState, Unread
from protocol.unread import add, clamp_cursor, count_unread

log = structlog.get_logger("cosession.cursors")


class RoomCursors:
    def __init__(self, room_id: str, writer: CursorWriter | None, *, scan_max: int = 10_000) -> None:
        self.room_id = room_id
        self.writer = writer
        self.scan_max = scan_max
        self.known: dict[str, int] = {}  # member -> cursor, for members seen on this node

    def get(self, member: str) -> int:
        return self.known.get(member, 0)

    async def load(self, member: str) -> int | None:
        """The member's cursor: what this node knows (kept current by the member's reads
        here and, on a cluster, by the other nodes' messages), else what is stored; None
        when the database does not answer (the welcome then reports no cursor)."""
        if member in self.known:
            return self.known[member]
        try:
            stored = await self.writer.store.get(self.room_id, member) if self.writer is not None else 0
        except Exception as exc:  # best effort: a join never fails for a cursor
            log.warning("read cursor not loaded", room=self.room_id, error=repr(exc))
            return self.known.get(member)
        if stored > self.known.get(member, -1):
            self.known[member] = stored
        return self.known[member]

    def seed(self, member: str, head: int) -> None:
        """A new member starts with everything before its join read."""
        self._move(member, head)

    def read(self, member: str, seq: int, head: int) -> int | None:
        """A ``read {seq}`` from one of the member's connections: the new cursor, or None
        when it does not move (not beyond the current one, after clamping to ``head``)."""
        seq = clamp_cursor(seq, head)
        if seq <= self.known.get(member, 0):
            return None
        self._move(member, seq)
        return seq

    def heard(self, member: str, seq: int) -> bool:
        """Another node moved the member's cursor (it stored it): whether it moved here."""
        if seq <= self.known.get(member, 0):
            return False
        self.known[member] = seq
        return True

    def _move(self, member: str, seq: int) -> None:
        self.known[member] = max(seq, self.known.get(member, 0))
        if self.writer is not None:
            self.writer.put(self.room_id, member, self.known[member])

    async def count_stored(self, member: str, cursor: int, upto: int, history: Sequence[Event]) -> tuple[Unread, int]:
        """Count the part of the tail ``cursor < seq <= upto`` that the replay window does
        not hold, from the SQL log: (counts, the seq counted up to)."""
        first = history[0].seq if history else upto + 1
        if cursor + 1 >= first or self.writer is None or upto <= cursor:
            return Unread(), cursor
        until = min(upto, first - 1)
        try:
            counted = await self.writer.store.count_tail(self.room_id, cursor, until, member, self.scan_max)
        except Exception as exc:  # best effort: the replay window's part is still counted
            log.warning("unread not counted from the log", room=self.room_id, error=repr(exc))
            return Unread(), until
        return counted, until

    @staticmethod
    def count_window(
        state: RoomState, member: str, counted: Unread, counted_upto: int, history: Sequence[Event]
    ) -> Unread:
        """Add the events of the replay window after ``counted_upto`` (no await: the
        welcome's block)."""
        tail = [e for e in history if e.seq > counted_upto]
        return add(counted, count_unread(state, tail, member))
