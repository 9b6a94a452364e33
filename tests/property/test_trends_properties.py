"""Trends never publish a figure about fewer than *k* rooms or people (hypothesis).

Random room histories are generated as real protocol events (plus ``checkout.start``
events written as raw log entries), round-tripped through MessagePack like the events
table, summarized and aggregated. The generator keeps its own ground truth per room
(products added, last vote per person, size, conversion), independent of
``cosession/trends``, and every published figure is checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cosession.trends.aggregate import GROUP_BUCKETS, Trends, aggregate, suppress_cells
from cosession.trends.summary import CHECKOUT_OP, RoomSummary, summarize
from protocol.messages import CartAdd, CartRemove, Chat, Event, MemberJoin, Product, RoomCreate, Vote

PRODUCTS = ["p1", "p2", "p3", "p4", "p5"]


@dataclass
class Truth:
    members: int
    added: set[str] = field(default_factory=set)
    votes: dict[tuple[str, str], str] = field(default_factory=dict)  # (member, product) -> up/down
    viewed: set[str] = field(default_factory=set)  # products focused (room_focus rows)
    converted: bool = False


def _product(pid: str) -> Product:
    return Product(id=pid, name=pid.upper(), price=100, currency="EUR")


@st.composite
def room_history(draw: st.DrawFn) -> tuple[list[bytes], Truth]:
    size = draw(st.integers(1, 12))
    members = [f"m{i}" for i in range(size)]
    events: list[Any] = [Event(seq=1, ts=1, by="", op=RoomCreate(name="r", owner="m0", owner_name="O"))]
    for m in members[1:]:
        events.append(Event(seq=len(events) + 1, ts=1, by="", op=MemberJoin(member=m, name=m, role="member")))
    truth = Truth(members=size, viewed=set(draw(st.lists(st.sampled_from(PRODUCTS), max_size=4))))
    lines: dict[str, int] = {}  # open line per product
    for _ in range(draw(st.integers(0, 12))):
        seq = len(events) + 1
        who = draw(st.sampled_from(members))
        action = draw(st.sampled_from(["add", "add", "vote", "vote", "vote", "remove", "chat", "checkout"]))
        if action == "add":
            pid = draw(st.sampled_from(PRODUCTS))
            events.append(Event(seq=seq, ts=1, by=who, op=CartAdd(product=_product(pid), qty=draw(st.integers(1, 3)))))
            truth.added.add(pid)
            lines.setdefault(pid, seq)
        elif action == "vote" and lines:
            pid = draw(st.sampled_from(sorted(lines)))
            value = draw(st.sampled_from(["up", "down", "clear"]))
            events.append(Event(seq=seq, ts=1, by=who, op=Vote(line=lines[pid], value=value)))
            if value == "clear":
                truth.votes.pop((who, pid), None)
            else:
                truth.votes[(who, pid)] = value
        elif action == "remove" and lines:
            pid = draw(st.sampled_from(sorted(lines)))
            events.append(Event(seq=seq, ts=1, by=who, op=CartRemove(line=lines.pop(pid))))
        elif action == "chat":
            events.append(Event(seq=seq, ts=1, by=who, op=Chat(text="hi")))
        elif action == "checkout":
            events.append({"t": "event", "seq": seq, "ts": 1, "by": who, "op": {"t": CHECKOUT_OP, "lines": []}})
            truth.converted = True
    return [msgspec.msgpack.encode(e) for e in events], truth


def _voters(truths: list[Truth], pid: str, side: str) -> tuple[int, int]:
    """(rooms, people) with a last vote of ``side`` on ``pid``."""
    per_room = [sum(1 for (_m, p), v in t.votes.items() if p == pid and v == side) for t in truths]
    return sum(1 for n in per_room if n), sum(per_room)


def check_published(trends: Trends, truths: list[Truth], k: int) -> None:
    n = len(truths)
    if n < k:
        assert trends.rooms is None and trends.people is None
        assert not trends.products and not trends.pairs and not trends.votes
        assert trends.conversion.converted is None and all(b.rooms is None for b in trends.group_sizes)
        return
    assert trends.rooms == n >= k and trends.people == sum(t.members for t in truths) >= k
    rooms_with = {p: sum(1 for t in truths if p in t.added) for p in PRODUCTS}
    for fig in trends.products:
        assert fig.rooms == rooms_with[fig.product] >= k
    viewed_with = {p: sum(1 for t in truths if p in t.viewed) for p in PRODUCTS}
    for pairs, sets, singles in (
        (trends.pairs, [t.added for t in truths], rooms_with),
        (trends.viewed_together, [t.viewed for t in truths], viewed_with),
    ):
        for pair in pairs:
            both = sum(1 for s in sets if {pair.a, pair.b} <= s)
            assert pair.rooms == both >= k
            for x in (pair.a, pair.b):  # "rooms with x" - "rooms with both" singles out nobody
                assert singles[x] - both == 0 or singles[x] - both >= k
    for vote in trends.votes:
        for side, shown in (("up", vote.up), ("down", vote.down)):
            if shown is not None:
                rooms, people = _voters(truths, vote.product, side)
                assert shown == people and rooms >= k and people >= k
    converted = sum(1 for t in truths if t.converted)
    if trends.conversion.converted is not None:
        assert trends.conversion.converted == converted
        assert converted in (0, n) or (converted >= k and n - converted >= k)
    hidden = 0
    for bucket, (label, low, high) in zip(trends.group_sizes, GROUP_BUCKETS, strict=True):
        true = sum(1 for t in truths if t.members >= low and (high is None or t.members <= high))
        assert bucket.size == label
        if bucket.rooms is None:
            hidden += true
        else:
            assert bucket.rooms == true and (true == 0 or true >= k)
    assert hidden == 0 or hidden >= k  # the total minus the shown buckets singles out nobody


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(room_history(), max_size=40), st.one_of(st.integers(2, 4), st.integers(1, 12)))
def test_no_published_figure_describes_fewer_than_k(rooms: list[tuple[list[bytes], Truth]], k: int) -> None:
    summaries = [summarize((msgspec.msgpack.decode(b) for b in log), t.viewed) for log, t in rooms]
    truths = [t for _, t in rooms]
    for summary, truth in zip(summaries, truths, strict=True):  # the summary agrees with the truth
        assert summary.added == truth.added and summary.members == truth.members
        assert summary.converted == truth.converted and summary.viewed == truth.viewed
    check_published(aggregate(summaries, k, limit=100), truths, k)


@given(st.lists(st.integers(0, 30), min_size=1, max_size=8), st.integers(1, 12))
def test_suppressed_cells_never_sum_below_k(counts: list[int], k: int) -> None:
    shown = suppress_cells(counts, k)
    hidden = sum(c for c, s in zip(counts, shown, strict=True) if s is None)
    assert hidden == 0 or hidden >= k or all(s is None for s in shown if s != 0)
    assert all(s is None or s == c for s, c in zip(shown, counts, strict=True))
    assert all(s is None or s == 0 or s >= k for s in shown)


def test_a_big_enough_window_publishes_figures() -> None:
    """Not vacuous: 12 rooms that all added p1 and p2 and voted p1 up show up with k=10."""
    logs = []
    for i in range(12):
        events: list[Any] = [
            Event(seq=1, ts=1, by="", op=RoomCreate(name="r", owner="a", owner_name="A")),
            Event(seq=2, ts=1, by="", op=MemberJoin(member="b", name="B", role="member")),
            Event(seq=3, ts=1, by="a", op=CartAdd(product=_product("p1"))),
            Event(seq=4, ts=1, by="b", op=CartAdd(product=_product("p2"), qty=2)),
            Event(seq=5, ts=1, by="b", op=Vote(line=3, value="up")),
        ]
        if i < 10:
            events.append({"t": "event", "seq": 6, "ts": 1, "by": "a", "op": {"t": CHECKOUT_OP}})
        logs.append([msgspec.msgpack.decode(msgspec.msgpack.encode(e)) for e in events])
    trends = aggregate([summarize(log) for log in logs], k=10)
    assert trends.rooms == 12 and trends.people == 24
    assert [(p.product, p.rooms, p.units) for p in trends.products] == [("p1", 12, 12), ("p2", 12, 24)]
    assert [(p.a, p.b, p.rooms) for p in trends.pairs] == [("p1", "p2", 12)]
    assert [(v.product, v.up, v.down) for v in trends.votes] == [("p1", 12, None)]
    assert trends.conversion.converted is None  # 10 converted, but only 2 did not
    assert {b.size: b.rooms for b in trends.group_sizes} == {"1": 0, "2": 12, "3": 0, "4": 0, "5-9": 0, "10+": 0}


def test_each_vote_side_needs_k_rooms_of_its_own() -> None:
    """Down votes in 3 rooms publish the down count; the up vote of one room stays hidden."""
    rooms = [RoomSummary(members=2, units={"p1": 1}, down={"p1": 2}) for _ in range(3)]
    rooms.append(RoomSummary(members=2, units={"p1": 1}, up={"p1": 1}))
    [vote] = aggregate(rooms, k=3).votes
    assert (vote.product, vote.up, vote.down) == ("p1", None, 6)
