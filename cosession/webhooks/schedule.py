"""The retry schedule: exponential backoff with full jitter, then dead-letter. Pure.

Attempt 1 is sent as soon as the message is committed. After failed attempt ``n``
(1-based) the next one waits a uniformly random time in ``[0, min(cap, base * factor**(n-1))]``
("full jitter": retries of many messages spread out instead of arriving together).
After ``1 + retries`` failed attempts the message is dead-lettered (status ``dead``);
``POST …/redeliver`` puts it back. Defaults (docs/webhooks.md): base 30 s, factor 3,
cap 6 h, 10 retries: ceilings 30 s, 1.5 min, 4.5 min, 13.5 min, 40.5 min, ~2 h, then 6 h
four times (at most about 27 h in all).
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetrySchedule:
    retries: int = 10
    base: float = 30.0  # seconds
    factor: float = 3.0
    cap: float = 6 * 3600.0

    def ceiling(self, failed: int) -> float:
        """The longest wait after the ``failed``-th failed attempt (1-based)."""
        return min(self.cap, self.base * self.factor ** max(0, failed - 1))

    def next_delay(self, failed: int, rng: random.Random | None = None) -> float | None:
        """Seconds to wait before the next attempt, or None: dead-letter now."""
        if failed > self.retries:
            return None
        return (rng or random).uniform(0.0, self.ceiling(failed))

    def ceilings(self) -> list[float]:
        return [self.ceiling(n) for n in range(1, self.retries + 1)]
