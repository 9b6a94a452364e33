"""Parsing of durations and sizes as written on the command line and in scenario files."""

from __future__ import annotations

import re
from typing import Final

_DURATION: Final = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(us|µs|ms|s|m|h)?\s*$")
_SCALE: Final = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: object) -> float:
    """Seconds from ``30``, ``2.5``, ``"30s"``, ``"500ms"``, ``"2m"`` or ``"1h"``."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"a duration cannot be negative: {value!r}")
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _SCALE[match.group(2)]
    raise ValueError(f"not a duration: {value!r} (e.g. 30, '30s', '500ms', '2m')")


def resolve_at(value: float | str, duration: float) -> float:
    """A point in time of the run: seconds, a duration string, or ``"60%"`` of the duration."""
    if isinstance(value, str) and value.strip().endswith("%"):
        pct = float(value.strip()[:-1])
        if not 0 <= pct <= 100:
            raise ValueError(f"not a percentage of the run: {value!r}")
        return duration * pct / 100.0
    return parse_duration(value)
