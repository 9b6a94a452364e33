"""Who is in a room right now: pure bookkeeping, no timers and no I/O.

Several connections of one member count as one member. A member whose last connection
closed stays listed (``in_grace``) until the room calls ``expire`` after the grace period,
so a phone that drops for a second does not flicker "left / joined". A member is
``away`` (SPEC 15) while every one of its connections said ``away {on: true}``.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from protocol.messages import CallState, Device, PresenceMember, Product, Role

Change = tuple[Literal["join", "update", "leave"], PresenceMember]


class Presence:
    def __init__(self) -> None:
        self._members: dict[str, PresenceMember] = {}
        self._conns: dict[str, set[int]] = {}
        self._away: dict[str, set[int]] = {}  # member -> its connections in the background

    def __contains__(self, member: str) -> bool:
        return member in self._members

    def __len__(self) -> int:
        return len(self._members)

    def online(self) -> list[PresenceMember]:
        return list(self._members.values())

    def get(self, member: str) -> PresenceMember | None:
        return self._members.get(member)

    def connections(self, member: str) -> int:
        return len(self._conns.get(member, ()))

    def connect(
        self, member: str, conn_id: int, *, name: str, role: Role, device: Device, in_store: bool = False
    ) -> Change:
        conns = self._conns.setdefault(member, set())
        conns.add(conn_id)
        current = self._members.get(member)
        if current is None:
            entry = PresenceMember(member=member, name=name, role=role, device=device, connections=1, in_store=in_store)
            self._members[member] = entry
            return ("join", entry)
        # in the store while any of the member's connections came through a store's QR code
        entry = msgspec.structs.replace(
            current,
            connections=len(conns),
            device=device,
            name=name,
            role=role,
            in_store=current.in_store or in_store,
            away=self._is_away(member),
        )
        self._members[member] = entry
        return ("update", entry)

    def _is_away(self, member: str) -> bool:
        conns = self._conns.get(member)
        return bool(conns) and conns <= self._away.get(member, set())  # type: ignore[operator]

    def set_away(self, member: str, conn_id: int, on: bool) -> PresenceMember | None:
        """One connection went to the background (or came back): the member's new entry
        when its ``away`` changed, else None."""
        current = self._members.get(member)
        if current is None or conn_id not in self._conns.get(member, ()):
            return None
        away = self._away.setdefault(member, set())
        if on:
            away.add(conn_id)
        else:
            away.discard(conn_id)
        if current.away == self._is_away(member):
            return None
        entry = msgspec.structs.replace(current, away=not current.away)
        self._members[member] = entry
        return entry

    def disconnect(self, member: str, conn_id: int) -> Change | None:
        """Drop one connection. An update while others remain; None if it was the last
        (the member is now in grace: call ``expire`` later)."""
        conns = self._conns.get(member)
        if conns is None or conn_id not in conns:
            return None
        conns.discard(conn_id)
        self._away.get(member, set()).discard(conn_id)
        current = self._members[member]
        if conns:
            entry = msgspec.structs.replace(current, connections=len(conns), away=self._is_away(member))
            self._members[member] = entry
            return ("update", entry)
        self._members[member] = msgspec.structs.replace(current, connections=0)
        return None

    def in_grace(self, member: str) -> bool:
        return member in self._members and not self._conns.get(member)

    def expire(self, member: str) -> Change | None:
        """After the grace period: "leave" if the member still has no connection."""
        if not self.in_grace(member):
            return None
        entry = self._members.pop(member)
        self._conns.pop(member, None)
        self._away.pop(member, None)
        return ("leave", entry)

    def remove(self, member: str) -> Change | None:
        """Immediately (kick)."""
        entry = self._members.pop(member, None)
        self._conns.pop(member, None)
        self._away.pop(member, None)
        return None if entry is None else ("leave", entry)

    def set_focus(self, member: str, product: Product | None) -> None:
        current = self._members.get(member)
        if current is not None:
            self._members[member] = msgspec.structs.replace(current, focus=product)

    def set_following(self, member: str, target: str | None) -> None:
        current = self._members.get(member)
        if current is not None:
            self._members[member] = msgspec.structs.replace(current, following=target)

    def set_call(self, member: str, call: CallState | None) -> None:
        current = self._members.get(member)
        if current is not None:
            self._members[member] = msgspec.structs.replace(current, call=call)
