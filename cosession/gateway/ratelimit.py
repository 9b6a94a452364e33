"""Per-connection token bucket, and the flood rule that turns refusals into a close.

Every client frame after ``hello`` costs one token. A refused frame gets ``rate_limited``;
a connection refused ``3 * burst`` times within ``flood_window`` seconds is closed (4029).
Pure: time is passed in.
"""

from __future__ import annotations

from collections import deque


class TokenBucket:
    def __init__(self, rate: float, burst: int, now: float, *, flood_window: float = 10.0) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.updated = now
        self.flood_limit = 3 * max(1, burst)
        self.flood_window = flood_window
        self._refusals: deque[float] = deque()

    def take(self, now: float) -> bool:
        """Spend one token; False if the bucket is empty."""
        elapsed = now - self.updated
        if elapsed > 0:
            self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
            self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        self._refusals.append(now)
        return False

    def flooding(self, now: float) -> bool:
        """True when refusals within the window reached the flood limit."""
        horizon = now - self.flood_window
        while self._refusals and self._refusals[0] < horizon:
            self._refusals.popleft()
        return len(self._refusals) >= self.flood_limit
