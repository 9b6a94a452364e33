"""The durable store interface: what the rooms need from a database.

``SqlStore`` (SQLite by default) implements it; a PostgreSQL deployment uses the same
class with another URL. Every method is a coroutine; none is called on the hot fan-out
path except ``append`` through the group committer.
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

    async def append(self, events: list[PendingEvent], snapshots: list[SnapshotWrite]) -> None:
        """Durably write a batch (one transaction; events already present are skipped)."""

    async def create_invite(self, invite: Invite) -> None: ...

    async def get_invite(self, code: str) -> Invite | None: ...

    async def use_invite(self, code: str, now_ms: int) -> Invite:
        """Count one use, atomically; ``InviteError`` if unknown, expired or used up."""
