"""The per-address token buckets behind the REST rate limits (pure: the clock is passed in)."""

from __future__ import annotations

from cosession.http.ratelimit import AddressLimiter, address_key, retry_after


def test_burst_then_steady_rate() -> None:
    limiter = AddressLimiter(60)  # a burst of 60, then one per second
    assert all(limiter.take("10.0.0.1", 0.0) == 0.0 for _ in range(60))
    assert limiter.take("10.0.0.1", 0.0) == 1.0
    assert limiter.take("10.0.0.2", 0.0) == 0.0  # another address has its own bucket
    assert limiter.take("10.0.0.1", 0.5) == 0.5
    assert limiter.take("10.0.0.1", 1.0) == 0.0
    assert retry_after(0.01) == "1" and retry_after(2.2) == "3"


def test_disabled_and_bounded() -> None:
    off = AddressLimiter(0)
    assert all(off.take("10.0.0.1", 0.0) == 0.0 for _ in range(1000)) and len(off) == 0
    small = AddressLimiter(1, max_addresses=3)
    for i in range(10):
        small.take(f"10.0.0.{i}", 0.0)
    assert len(small) == 3


def test_ipv6_is_keyed_by_its_64() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key(None) == "?" and address_key("testclient") == "testclient"
    limiter = AddressLimiter(1)
    assert limiter.take("2001:db8::1", 0.0) == 0.0
    assert limiter.take("2001:db8::2", 0.0) > 0
