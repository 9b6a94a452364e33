"""The durable store interface: what the rooms need from a database.

``SqlStore`` (SQLite by default) implements it; a PostgreSQL deployment uses the same
class with another URL. Every method is a coroutine; none is called on the hot fan-out
path except ``append`` through the group committer. The SQL log is the durable truth: in
a cluster, Redis sequences and fans out, and rooms are re-seeded from here when Redis
loses them (``set_room_epoch``); ``head``, ``events_after`` and ``missing_seqs`` serve gap
repair, replays beyond Redis's stream and the archiver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from protocol.messages import Event, RoomState


@dataclass(frozen=True)
class RoomRecord:
    id: str
    epoch: str
    created_at: int
    tenant: str | None = None


@dataclass(frozen=True)
class LoadedRoom:
    record: RoomRecord
    state: RoomState  # folded up to ``head``
    head: int
    history: list[Event]  # the last events up to ``head`` (replay window), oldest first
    refs: list[tuple[str, str, int]]  # (member, ref, seq) of the idempotency window


@dataclass(frozen=True)
class PendingEvent:
    """One sequenced event waiting for its group commit."""

    room_id: str
    event: Event
    ref: str | None
    body: bytes  # msgpack of ``event``
    # cluster writes: the epoch the event was sequenced under. The log refuses it when the
    # room has been re-seeded since (a stale writer must never fill a seq of the new epoch).
    epoch: str | None = None
    # help.request: what the room shows the associates (cosession/help/context.py), JSON
    context: bytes | None = None
    # (member, reason) to notify: members with no live connection (cosession/notify)
    notify: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SnapshotWrite:
    room_id: str
    seq: int
    state: bytes


@dataclass(frozen=True)
class Invite:
    code: str
    room_id: str
    role: str
    created_by: str
    created_at: int
    expires_at: int | None
    max_uses: int | None
    uses: int


class UnstorableError(Exception):
    """The database refused the data itself (a value it cannot hold, a constraint), not
    because it is unreachable: writing the same rows again would fail again. The group
    committer isolates the offending events instead of retrying them forever."""


class InviteError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Store(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""

    async def create_room(self, record: RoomRecord, first: PendingEvent) -> None: ...

    async def load_room(self, room_id: str, history: int, idempotency: int) -> LoadedRoom | None: ...

    async def append(self, events: list[PendingEvent], snapshots: list[SnapshotWrite]) -> list[PendingEvent]:
        """Durably write a batch (one transaction; events already present are skipped).
        Returns the events refused because their epoch is no longer the room's. Raises
        ``UnstorableError`` when the batch holds data the database can never store (then
        nothing of it is written); any other exception means "retry later"."""

    async def create_invite(self, invite: Invite) -> None: ...

    async def get_invite(self, code: str) -> Invite | None: ...

    async def use_invite(self, code: str, now_ms: int) -> Invite:
        """Count one use, atomically; ``InviteError`` if unknown, expired or used up.

        Returns the invite as it is after this use (``uses`` includes it).
        """

    async def room_epoch(self, room_id: str) -> str | None:
        """The room's current epoch, or None if there is no such room."""

    async def set_room_epoch(self, room_id: str, epoch: str) -> None:
        """Record a new epoch for the room (after a re-seed); ``LookupError`` if no such room."""

    async def head(self, room_id: str) -> int:
        """The highest ``seq`` in the room's log, 0 if it has none."""

    async def events_after(self, room_id: str, seq: int, limit: int) -> list[Event]:
        """Up to ``limit`` events with ``seq`` greater than ``seq``, oldest first.

        The log may have holes (an event Redis sequenced but no node wrote yet): callers
        that need contiguity compare the seqs they got.
        """

    async def missing_seqs(self, room_id: str, seqs: list[int]) -> list[int]:
        """Which of ``seqs`` the room's log lacks: sorted, without duplicates."""
