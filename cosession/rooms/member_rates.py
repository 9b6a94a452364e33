"""One token bucket per member of a room, shared by all its connections (SPEC 3.4).

* ``MemberRates`` (one node): a ``TokenBucket`` per member in memory. A bucket that has
  refilled is forgotten (a full bucket and a new one are the same), so memory follows
  the members that are actually sending.
* ``ClusterRates``: the bucket lives in Redis (``rate.lua``, under the room's hash tag),
  so a member's connections on every node draw from one bucket. Each node borrows
  ``batch`` tokens at a time and spends them locally (the fast path: no Redis call for
  most frames); it asks again only when its lease is spent or older than ``LEASE_TTL``,
  and remembers an empty answer until the next token is due, so a flood costs no Redis
  call per frame. When Redis does not answer (within ``BORROW_TIMEOUT``), a local bucket
per member decides for the next ``REDIS_AWAY_PAUSE`` seconds, without waiting on Redis.

Tolerance: Redis grants a member at most ``burst + rate * T`` tokens in any T seconds;
a node may still hold up to ``batch`` borrowed tokens from before, so a member gets at
most ``burst + rate * T + batch * (nodes it uses)`` frames in T, and never fewer than
``burst + rate * T - batch * (nodes it uses)`` when it keeps sending.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cosession.gateway.ratelimit import TokenBucket
from cosession.hub.hub import HubUnavailable

if TYPE_CHECKING:  # the [cluster] extra: the embedded server imports no redis
    from cosession.hub.hub_redis import RedisHub

LEASE_TTL = 1.0  # seconds a node may keep borrowed tokens
BORROW_TIMEOUT = 0.5  # a Redis that takes longer is treated as away
REDIS_AWAY_PAUSE = 1.0  # after which this node's own buckets decide for this long


def batch_size(rate: float, burst: int) -> int:
    """Tokens a node borrows at once: small against the burst and a quarter second's refill."""
    return max(1, min(burst // 8, int(rate / 4)))


class MemberRates:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, TokenBucket] = {}
        self._prune_at = 64

    def try_take(self, member: str, now: float) -> bool | None:
        """Spend one of ``member``'s tokens: True, False (empty), or None when only
        ``take`` (which may await) can tell. One node always knows."""
        bucket = self._buckets.get(member)
        if bucket is None:
            if len(self._buckets) >= self._prune_at:
                self._buckets = {m: b for m, b in self._buckets.items() if not b.full(now)}
                self._prune_at = max(64, 2 * len(self._buckets))
            bucket = self._buckets[member] = TokenBucket(self.rate, self.burst, now)
        return bucket.take(now)

    async def take(self, member: str, now: float) -> bool:
        return bool(self.try_take(member, now))


@dataclass
class _Lease:
    tokens: int = 0
    expires: float = 0.0
    empty_until: float = 0.0
    borrowing: asyncio.Future[None] | None = None


class ClusterRates(MemberRates):
    def __init__(self, rate: float, burst: int, redis: RedisHub, room_id: str) -> None:
        super().__init__(rate, burst)
        self.batch = batch_size(rate, burst)
        self._redis = redis
        self._room_id = room_id
        self._leases: dict[str, _Lease] = {}
        self.borrows = 0  # Redis calls made (for tests and benchmarks)
        self._redis_away_until = 0.0

    def try_take(self, member: str, now: float) -> bool | None:
        if now < self._redis_away_until:  # Redis did not answer lately: decide here
            return super().try_take(member, now)
        lease = self._leases.get(member)
        if lease is None:
            return None
        if lease.tokens > 0 and now < lease.expires:
            lease.tokens -= 1
            return True
        if now < lease.empty_until:
            return False
        return None

    async def take(self, member: str, now: float) -> bool:
        for _ in range(3):  # other connections of the member may spend a fresh lease first
            lease = self._leases.get(member)
            if lease is None:
                if len(self._leases) >= self._prune_at:
                    self._leases = {m: x for m, x in self._leases.items() if x.expires > now or x.borrowing}
                    self._prune_at = max(64, 2 * len(self._leases))
                lease = self._leases[member] = _Lease()
            if lease.borrowing is None:
                lease.borrowing = asyncio.ensure_future(self._borrow(member, lease))
            await asyncio.shield(lease.borrowing)
            now = time.monotonic()
            allowed = self.try_take(member, now)
            if allowed is not None:
                return allowed
        return False

    async def _borrow(self, member: str, lease: _Lease) -> None:
        try:
            self.borrows += 1
            try:
                async with asyncio.timeout(BORROW_TIMEOUT):
                    granted, wait_ms = await self._redis.rate(
                        self._room_id, member, rate=self.rate, burst=self.burst, want=self.batch
                    )
            except (HubUnavailable, TimeoutError):
                now = time.monotonic()  # Redis away: this node's own buckets decide for a second
                self._redis_away_until = now + REDIS_AWAY_PAUSE
                allowed = super().try_take(member, now)
                lease.tokens, lease.expires = (1 if allowed else 0), now + LEASE_TTL
                lease.empty_until = 0.0 if allowed else now + 1.0 / max(self.rate, 1e-3)
                return
            now = time.monotonic()
            lease.tokens, lease.expires = granted, now + LEASE_TTL
            lease.empty_until = now + wait_ms / 1000 if granted == 0 else 0.0
        finally:
            lease.borrowing = None
