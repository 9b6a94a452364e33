"""Trends across a tenant's rooms with a minimum group size *k* (pure).

Every published figure describes at least ``k`` rooms, and therefore at least ``k``
people (every room has at least one member). Rules, per figure:

* nothing at all unless the window holds ``k`` rooms or more;
* a product is listed when ``k`` rooms or more added it (its units are summed over them);
* a pair is listed when ``k`` rooms or more added both, *and* for each product of the
  pair the rooms that added it without the other are 0 or ``k`` or more (so "product
  rooms - pair rooms" cannot single out fewer than ``k`` rooms); "viewed together" pairs
  (products focused in the same room) follow the same rule;
* a vote count (people whose last vote on the product was up, or down) is published when
  those people were in ``k`` rooms or more;
* conversion: converted rooms are published only when converted and unconverted rooms
  are each ``k`` or more (the total is published, so either cell gives the other);
* group sizes: a bucket below ``k`` rooms is suppressed; while the suppressed buckets sum
  to between 1 and ``k - 1`` rooms (derivable from the total), the smallest published
  bucket is suppressed too.

Queries over different, overlapping windows can still be differenced by a caller who
issues several; windows are whole UTC days (``cosession/trends/source.py``) to blunt it,
and docs/operations.md says what remains.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import combinations

import msgspec

from cosession.trends.summary import RoomSummary

DEFAULT_K = 10
# room sizes (distinct people) reported as buckets: (label, smallest, largest or None)
GROUP_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("1", 1, 1),
    ("2", 2, 2),
    ("3", 3, 3),
    ("4", 4, 4),
    ("5-9", 5, 9),
    ("10+", 10, None),
)
MAX_PRODUCTS_PER_ROOM_FOR_PAIRS = 50  # bounds the pair count per room (50·49/2)


class ProductFigure(msgspec.Struct, frozen=True):
    product: str
    rooms: int  # rooms that added it
    units: int  # units added in those rooms


class PairFigure(msgspec.Struct, frozen=True):
    a: str
    b: str
    rooms: int  # rooms that added both


class VoteFigure(msgspec.Struct, frozen=True):
    product: str
    up: int | None  # people whose last vote was up; None: suppressed (fewer than k rooms)
    down: int | None


class Conversion(msgspec.Struct, frozen=True):
    rooms: int | None
    converted: int | None  # None: suppressed
    rate: float | None


class GroupBucket(msgspec.Struct, frozen=True):
    size: str  # "1", "2", ..., "10+"
    rooms: int | None  # None: suppressed


class Trends(msgspec.Struct, frozen=True):
    k: int
    rooms: int | None  # None: fewer than k rooms in the window, nothing is published
    people: int | None
    products: list[ProductFigure]
    pairs: list[PairFigure]  # added together
    viewed_together: list[PairFigure]  # focused in the same room
    votes: list[VoteFigure]
    conversion: Conversion
    group_sizes: list[GroupBucket]


def _bucket(members: int) -> str:
    for label, low, high in GROUP_BUCKETS:
        if members >= low and (high is None or members <= high):
            return label
    return GROUP_BUCKETS[0][0]


def suppress_cells(counts: Sequence[int], k: int) -> list[int | None]:
    """Cells of a partition whose total is published: cells below ``k`` (but not 0) are
    hidden, then more of the smallest cells until the hidden ones sum to 0 or ``k``+."""
    shown: list[int | None] = [c if c == 0 or c >= k else None for c in counts]
    while True:
        hidden = sum(c for c, s in zip(counts, shown, strict=True) if s is None)
        if hidden == 0 or hidden >= k:
            return shown
        candidates = [i for i, s in enumerate(shown) if s is not None and s > 0]
        if not candidates:
            return shown
        shown[min(candidates, key=lambda i: counts[i])] = None


def empty(k: int) -> Trends:
    return Trends(
        k=k,
        rooms=None,
        people=None,
        products=[],
        pairs=[],
        viewed_together=[],
        votes=[],
        conversion=Conversion(rooms=None, converted=None, rate=None),
        group_sizes=[GroupBucket(size=label, rooms=None) for label, _, _ in GROUP_BUCKETS],
    )


def aggregate(rooms: Sequence[RoomSummary], k: int = DEFAULT_K, limit: int = 20) -> Trends:
    """Trends over ``rooms``; ``limit`` caps each list (most rooms first)."""
    k = max(1, k)
    if len(rooms) < k:
        return empty(k)
    product_rooms: Counter[str] = Counter()
    units: Counter[str] = Counter()
    pair_rooms: Counter[tuple[str, str]] = Counter()
    viewed_rooms: Counter[str] = Counter()
    viewed_pairs: Counter[tuple[str, str]] = Counter()
    up_people: Counter[str] = Counter()
    up_rooms: Counter[str] = Counter()
    down_people: Counter[str] = Counter()
    down_rooms: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    for room in rooms:
        added = sorted(room.added)
        product_rooms.update(added)
        units.update(room.units)
        if len(added) <= MAX_PRODUCTS_PER_ROOM_FOR_PAIRS:
            pair_rooms.update(combinations(added, 2))
        viewed = sorted(room.viewed)
        viewed_rooms.update(viewed)
        if len(viewed) <= MAX_PRODUCTS_PER_ROOM_FOR_PAIRS:
            viewed_pairs.update(combinations(viewed, 2))
        up_people.update(room.up)
        up_rooms.update(p for p, n in room.up.items() if n > 0)
        down_people.update(room.down)
        down_rooms.update(p for p, n in room.down.items() if n > 0)
        sizes[_bucket(room.members)] += 1

    def listed(singles: Counter[str], pairs: Counter[tuple[str, str]]) -> list[PairFigure]:
        return [
            PairFigure(a=a, b=b, rooms=n)
            for (a, b), n in sorted(pairs.items(), key=lambda item: (-item[1], item[0]))
            if n >= k and all((d := singles[x] - n) == 0 or d >= k for x in (a, b))
        ][:limit]

    products = [
        ProductFigure(product=p, rooms=n, units=units[p])
        for p, n in sorted(product_rooms.items(), key=lambda item: (-item[1], item[0]))
        if n >= k
    ][:limit]
    voted = sorted(set(up_rooms) | set(down_rooms), key=lambda p: (-(up_people[p] + down_people[p]), p))
    votes = [
        VoteFigure(
            product=p,
            up=up_people[p] if up_rooms[p] >= k else None,
            down=down_people[p] if down_rooms[p] >= k else None,
        )
        for p in voted
        if up_rooms[p] >= k or down_rooms[p] >= k
    ][:limit]
    converted = sum(1 for r in rooms if r.converted)
    shown_converted = converted if min(converted, len(rooms) - converted) >= k or converted in (0, len(rooms)) else None
    conversion = Conversion(
        rooms=len(rooms),
        converted=shown_converted,
        rate=None if shown_converted is None else round(shown_converted / len(rooms), 4),
    )
    labels = [label for label, _, _ in GROUP_BUCKETS]
    cells = suppress_cells([sizes[label] for label in labels], k)
    return Trends(
        k=k,
        rooms=len(rooms),
        people=sum(r.members for r in rooms),
        products=products,
        pairs=listed(product_rooms, pair_rooms),
        viewed_together=listed(viewed_rooms, viewed_pairs),
        votes=votes,
        conversion=conversion,
        group_sizes=[GroupBucket(size=label, rooms=c) for label, c in zip(labels, cells, strict=True)],
    )
