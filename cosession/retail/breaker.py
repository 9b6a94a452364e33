"""A circuit breaker for one outside endpoint (pure: the caller passes the clock).

closed → (``threshold`` failures in a row) → open → (after ``cooldown`` s) → half-open:
one probe call is let through; its success closes the breaker, its failure reopens it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]


@dataclass
class Breaker:
    threshold: int = 5
    cooldown: float = 30.0
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False
    opens: int = 0  # times it opened (for metrics)

    def state(self, now: float) -> BreakerState:
        if self.opened_at is None:
            return "closed"
        return "half_open" if now - self.opened_at >= self.cooldown else "open"

    def allow(self, now: float) -> bool:
        """Whether a call may go out now (in half-open, only one probe at a time)."""
        state = self.state(now)
        if state == "closed":
            return True
        if state == "half_open" and not self.probing:
            self.probing = True
            return True
        return False

    def success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self.probing = False

    def failure(self, now: float) -> None:
        self.failures += 1
        if self.probing or (self.opened_at is None and self.failures >= self.threshold):
            self.opened_at = now
            self.opens += 1
        self.probing = False
