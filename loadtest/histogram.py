"""Latency histograms: HdrHistogram (the ``hdrhistogram`` package) in microseconds.

Workers record into *interval* histograms and ship them to the controller once a second
in HdrHistogram's compressed, base64 wire form; the controller decodes and adds them up,
per second (the time series) and for the whole run. Adding HDR histograms is exact: the
merged percentiles are those of all samples together, at 3 significant digits.
"""

from __future__ import annotations

from typing import Any, Final

from hdrh.histogram import HdrHistogram

LOWEST_US: Final = 1
HIGHEST_US: Final = 120_000_000  # 2 minutes: anything slower is recorded as 2 minutes
SIGNIFICANT: Final = 3
PERCENTILES: Final = (50.0, 75.0, 90.0, 95.0, 99.0, 99.9)


def _stat_name(p: float) -> str:
    return "p" + (f"{p:g}".replace(".", ""))  # 50 -> p50, 99.9 -> p999


STAT_NAMES: Final = ("count", "min", "mean", *(_stat_name(p) for p in PERCENTILES), "max")


class Histogram:
    """Values in microseconds; summaries in milliseconds."""

    __slots__ = ("_h",)

    def __init__(self, hdr: Any = None) -> None:
        self._h: Any = hdr if hdr is not None else HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT)

    def record_ns(self, ns: int) -> None:
        us = ns // 1000
        self._h.record_value(LOWEST_US if us < LOWEST_US else HIGHEST_US if us > HIGHEST_US else us)

    def record_s(self, seconds: float) -> None:
        self.record_ns(int(seconds * 1e9))

    @property
    def count(self) -> int:
        return int(self._h.get_total_count())

    def add(self, other: Histogram) -> None:
        if other.count:
            self._h.add(other._h)

    def reset(self) -> None:
        self._h.reset()

    def encode(self) -> str:
        return bytes(self._h.encode()).decode("ascii")

    @classmethod
    def decode(cls, encoded: str) -> Histogram:
        return cls(HdrHistogram.decode(encoded.encode("ascii")))

    def percentile_ms(self, p: float) -> float:
        return float(self._h.get_value_at_percentile(p)) / 1000.0

    def summary(self) -> dict[str, float]:
        """count, min, mean, p50 … p999, max (milliseconds; count as a number)."""
        n = self.count
        if n == 0:
            return {"count": 0}
        out: dict[str, float] = {
            "count": n,
            "min": round(self._h.get_min_value() / 1000.0, 3),
            "mean": round(self._h.get_mean_value() / 1000.0, 3),
        }
        for p in PERCENTILES:
            out[_stat_name(p)] = round(self.percentile_ms(p), 3)
        out["max"] = round(self._h.get_max_value() / 1000.0, 3)
        return out
