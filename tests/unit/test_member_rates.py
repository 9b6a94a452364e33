"""One token bucket per member (SPEC 3.4), shared by its connections; the flood rule per
connection."""

from __future__ import annotations

from cosession.gateway.ratelimit import FloodWatch
from cosession.rooms.member_rates import MemberRates, batch_size


def test_connections_of_one_member_share_one_bucket() -> None:
    rates = MemberRates(rate=1.0, burst=4)
    granted = [rates.try_take("m_a", 0.0) for _ in range(6)]  # two tabs, interleaved: same bucket
    assert granted == [True] * 4 + [False] * 2
    assert rates.try_take("m_b", 0.0) is True  # another member has its own
    assert rates.try_take("m_a", 1.0) is True  # refilled at the rate
    assert rates.try_take("m_a", 1.0) is False


def test_full_buckets_are_forgotten() -> None:
    rates = MemberRates(rate=10.0, burst=2)
    for i in range(200):
        rates.try_take(f"m{i}", float(i))
    assert len(rates._buckets) < 100  # refilled ones were dropped, losing nothing


def test_the_flood_rule_counts_one_connections_refusals() -> None:
    watch = FloodWatch(burst=2, flood_window=10.0)
    assert not any(watch.refused(t) for t in (0.0, 1.0, 2.0, 3.0, 4.0))
    assert watch.refused(5.0)  # 3 * burst refusals within 10 s
    other = FloodWatch(burst=2, flood_window=10.0)
    assert not any(other.refused(t * 3.0) for t in range(10))  # spread out: never a flood


def test_a_node_borrows_a_small_batch() -> None:
    assert batch_size(20.0, 40) == 5
    assert batch_size(1.0, 10) == 1
    assert batch_size(1000.0, 1000) == 125
