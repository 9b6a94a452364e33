"""``RoomView``: who is here and what they look at, folded from presence and signals.

Pure bookkeeping (no I/O): the client feeds it the welcome and every delivered message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from protocol.messages import FocusSignal, FollowSignal, PresenceMember, PresenceUpdate, Product, TypingSignal, Welcome


@dataclass
class RoomView:
    presence: dict[str, PresenceMember] = field(default_factory=dict)
    focus: dict[str, Product | None] = field(default_factory=dict)
    typing: set[str] = field(default_factory=set)

    def welcome(self, welcome: Welcome) -> None:
        self.presence = {p.member: p for p in welcome.presence}
        self.focus = {p.member: p.focus for p in welcome.presence}

    def disconnected(self) -> None:
        self.typing.clear()

    def apply(self, msg: object) -> None:
        if isinstance(msg, PresenceUpdate):
            entry = msg.member
            if msg.kind == "leave":
                self.presence.pop(entry.member, None)
                self.focus.pop(entry.member, None)
                self.typing.discard(entry.member)
            else:
                self.presence[entry.member] = entry
                self.focus[entry.member] = entry.focus
        elif isinstance(msg, FocusSignal):
            self.focus[msg.member] = msg.product
            if (present := self.presence.get(msg.member)) is not None:
                self.presence[msg.member] = msgspec.structs.replace(present, focus=msg.product)
        elif isinstance(msg, FollowSignal):
            if (present := self.presence.get(msg.member)) is not None:
                self.presence[msg.member] = msgspec.structs.replace(present, following=msg.target)
        elif isinstance(msg, TypingSignal):
            if msg.on:
                self.typing.add(msg.member)
            else:
                self.typing.discard(msg.member)
