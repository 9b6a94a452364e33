"""Plain counters and fixed-bucket latency histograms kept by the server's hot paths.

Hot paths only add to ints and lists here (no locks, no label lookups); the Prometheus
collector in ``cosession/metrics/collector.py`` reads them when ``/metrics`` is scraped.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

# Seconds. Op→ack includes the group commit (an fsync on SQLite) or a Redis round trip.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)


class LatencyHistogram:
    """Counts per bucket (``le`` semantics: an observation lands in the first bucket whose
    bound is >= it; the last slot is +Inf) and the sum of all observations."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: Iterable[float] = LATENCY_BUCKETS) -> None:
        self.bounds: tuple[float, ...] = tuple(sorted(bounds))
        self.counts: list[int] = [0] * (len(self.bounds) + 1)
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.sum += seconds

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[str, int]]:
        """``(le, observations <= le)`` pairs ending with ``+Inf``, as Prometheus wants them."""
        out: list[tuple[str, int]] = []
        running = 0
        for bound, n in zip((*(repr(b) for b in self.bounds), "+Inf"), self.counts, strict=True):
            running += n
            out.append((bound, running))
        return out


@dataclass
class Metrics:
    """Counters exposed on /metrics. The gateway and rooms add to them in place."""

    connections: int = 0
    joins: int = 0
    resumes: int = 0
    ops: int = 0
    bad_frames: int = 0
    rate_limited: int = 0
    slow_closes: int = 0  # send-queue (outbox) overflows: slow consumers closed
    # op body class -> count (the class, not its tag: no attribute lookups on the hot path)
    ops_by_type: Counter[type] = field(default_factory=Counter)
    op_ack_seconds: LatencyHistogram = field(default_factory=LatencyHistogram)
    fanout_seconds: LatencyHistogram = field(default_factory=LatencyHistogram)
