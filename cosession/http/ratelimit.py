"""Per-client-address rate limits for the REST calls that need no secret.

One token bucket per (action, address): it holds up to ``per_minute`` tokens and refills
at ``per_minute / 60`` per second, so a client gets a burst of one minute's allowance and
then the steady rate. An IPv6 address is keyed by its /64 (one host usually owns a whole
/64). Memory is bounded: past ``max_addresses`` the least recently seen address of that
action is forgotten (it starts again with a full bucket). Limits are per node. Pure
bookkeeping: no I/O, the clock is passed in.
"""

from __future__ import annotations

import ipaddress
import math
from collections import OrderedDict
from dataclasses import dataclass

MAX_ADDRESSES = 100_000


def address_key(host: str | None) -> str:
    """The key a client address is limited under: IPv4 as is, IPv6 by its /64."""
    if not host:
        return "?"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass
class _Bucket:
    tokens: float
    at: float


class AddressLimiter:
    """``take(address, now)``: 0.0 when the call may proceed (a token is used), else the
    seconds until the next token. ``per_minute <= 0`` disables the limit."""

    def __init__(self, per_minute: int, *, max_addresses: int = MAX_ADDRESSES) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_addresses = max(1, max_addresses)
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, address: str | None, now: float) -> float:
        if not self.enabled:
            return 0.0
        key = address_key(address)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(self.capacity, now)
            self._buckets[key] = bucket
            while len(self._buckets) > self.max_addresses:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


def retry_after(seconds: float) -> str:
    """A ``Retry-After`` header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


class RestLimits:
    """The REST endpoints' limiters, one per action, from the server's settings."""

    def __init__(self, *, rooms_per_minute: int, accepts_per_minute: int, pk_invites_per_minute: int) -> None:
        self.rooms = AddressLimiter(rooms_per_minute)
        self.accepts = AddressLimiter(accepts_per_minute)
        self.pk_invites = AddressLimiter(pk_invites_per_minute)
