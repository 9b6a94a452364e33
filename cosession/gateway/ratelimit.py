"""Token bucket, and the flood rule that turns refusals into a close.

Every client frame after ``hello`` costs one token from its *member's* bucket (shared by
the member's connections: ``cosession.rooms.member_rates``). A refused frame gets
``rate_limited``; a connection refused ``3 * burst`` times within ``flood_window``
seconds is closed (4029): the flood rule counts per connection. Pure: time is passed in.
"""

from __future__ import annotations

from collections import deque


class TokenBucket:
    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.updated = now

    def _refill(self, now: float) -> None:
        elapsed = now - self.updated
        if elapsed > 0:
            self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
            self.updated = now

    def take(self, now: float) -> bool:
        """Spend one token; False if the bucket is empty."""
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def full(self, now: float) -> bool:
        """A full bucket is the same as a new one (so it may be forgotten)."""
        self._refill(now)
        return self.tokens >= self.burst


class FloodWatch:
    """Refusals of one connection within a sliding window."""

    def __init__(self, burst: int, *, flood_window: float = 10.0) -> None:
        self.flood_limit = 3 * max(1, burst)
        self.flood_window = flood_window
        self._refusals: deque[float] = deque()

    def refused(self, now: float) -> bool:
        """Record a refusal; True when refusals within the window reached the flood limit."""
        self._refusals.append(now)
        horizon = now - self.flood_window
        while self._refusals and self._refusals[0] < horizon:
            self._refusals.popleft()
        return len(self._refusals) >= self.flood_limit
