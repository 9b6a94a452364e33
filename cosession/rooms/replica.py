"""A room replica's position in the log: what an incoming event means. Pure.

Every node folds a room's events in offset order. ``receive`` classifies each event
message against the replica's (epoch, head): the next one is ``applied`` (the caller folds
it), an old one is a ``duplicate``, one beyond the next means a ``gap`` (repair from the
stream first), and another epoch means Redis re-seeded the room (``new_epoch``: reload).
"""

from __future__ import annotations

from typing import Literal

Verdict = Literal["applied", "duplicate", "gap", "new_epoch"]


class Replica:
    __slots__ = ("epoch", "head")

    def __init__(self, epoch: str, head: int) -> None:
        self.epoch = epoch
        self.head = head

    def receive(self, epoch: str, seq: int) -> Verdict:
        if epoch != self.epoch:
            return "new_epoch"
        if seq <= self.head:
            return "duplicate"
        if seq > self.head + 1:
            return "gap"
        self.head = seq
        return "applied"
