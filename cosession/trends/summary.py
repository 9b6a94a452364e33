"""One room's log reduced to an anonymous summary (pure: no I/O, no member ids kept).

Events are the room's log decoded *untyped* (``msgspec.msgpack.decode`` to dicts), so ops
this module does not know — e.g. ``checkout.start`` before its protocol type exists here,
or erasure tombstones — are skipped rather than failing the whole scan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The log op that marks a room handing its cart to the retailer's checkout (the checkout
# hand-off writes it). A room "converts" when its log holds one.
CHECKOUT_OP = "checkout.start"


@dataclass(frozen=True)
class RoomSummary:
    members: int  # distinct people who were ever in the room (owner and joins)
    units: Mapping[str, int] = field(default_factory=dict)  # product id -> units added
    up: Mapping[str, int] = field(default_factory=dict)  # product id -> people whose last vote was up
    down: Mapping[str, int] = field(default_factory=dict)  # product id -> people whose last vote was down
    converted: bool = False
    viewed: frozenset[str] = frozenset()  # products focused in the room (room_focus rows)

    @property
    def added(self) -> frozenset[str]:
        return frozenset(self.units)


def _product_key(product: Any) -> tuple[str, str | None] | None:
    if not isinstance(product, Mapping):
        return None
    pid = product.get("id")
    variant = product.get("variant")
    if not isinstance(pid, str) or not pid:
        return None
    return pid, variant if isinstance(variant, str) else None


def summarize(events: Iterable[Mapping[str, Any]], viewed: Iterable[str] = ()) -> RoomSummary:
    """The summary of one room's events (in seq order) and the products it focused."""
    members: set[str] = set()
    units: dict[str, int] = {}
    lines: dict[int, tuple[str, str | None]] = {}  # open cart line -> product key
    line_of: dict[tuple[str, str | None], int] = {}  # product key -> its open line (adds merge)
    votes: dict[tuple[str, str], int] = {}  # (member, product id) -> +1 / -1 (dropped when cleared)
    converted = False
    for event in events:
        op = event.get("op")
        if not isinstance(op, Mapping):
            continue
        kind = op.get("t")
        by = event.get("by")
        if kind == "room.create" and isinstance(op.get("owner"), str):
            members.add(op["owner"])
        elif kind == "member.join" and isinstance(op.get("member"), str):
            members.add(op["member"])
        elif kind == "cart.add":
            key = _product_key(op.get("product"))
            qty = op.get("qty", 1)
            if key is None or not isinstance(qty, int) or isinstance(qty, bool):
                continue
            units[key[0]] = units.get(key[0], 0) + max(qty, 0)
            seq = event.get("seq")
            if key not in line_of and isinstance(seq, int):
                lines[seq] = key
                line_of[key] = seq
        elif kind == "cart.remove":
            gone = lines.pop(op.get("line"), None)  # type: ignore[arg-type]
            if gone is not None:
                line_of.pop(gone, None)
        elif kind == "vote" and isinstance(by, str):
            key = lines.get(op.get("line"))  # type: ignore[arg-type]
            if key is None:
                continue
            value = op.get("value")
            if value == "clear":
                votes.pop((by, key[0]), None)
            elif value in ("up", "down"):
                votes[(by, key[0])] = 1 if value == "up" else -1
        elif kind == CHECKOUT_OP:
            converted = True
    up: dict[str, int] = {}
    down: dict[str, int] = {}
    for (_member, pid), value in votes.items():
        side = up if value > 0 else down
        side[pid] = side.get(pid, 0) + 1
    return RoomSummary(
        members=max(len(members), 1), units=units, up=up, down=down, converted=converted, viewed=frozenset(viewed)
    )
