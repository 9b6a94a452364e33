"""SLO thresholds: ``op_ack.p99 < 50ms``, ``op_delivery.p50 <= 10ms``, ``errors < 0.1%``,
``gaps == 0``, ``delivered_per_s >= 5000``.

Grammar: ``METRIC[.STAT] OP NUMBER[UNIT]`` with OP one of ``< <= > >= == !=``.

* Latency metrics (``connect``, ``welcome``, ``join``, ``accept``, ``op_ack``,
  ``op_delivery``, ``resume``) need a STAT: ``p50 p75 p90 p95 p99 p999 min mean max`` (or
  ``count``); the value takes a unit ``us``, ``ms`` (default) or ``s``.
* Counts: ``errors``, ``rejections``, ``gaps``, ``duplicates``, ``state_mismatches``,
  ``count_mismatches``, ``findings`` (every correctness finding), ``resumes``,
  ``resumes_snapshot``, ``members_failed``, ``ops``, ``delivered``, ``clients``.
  With ``%``, ``errors``, ``rejections``, ``members_failed`` and ``resumes_snapshot``
  are ratios: of attempts (ops + signals + connection attempts), of ops sent, of members,
  and of resumes.
* Rates: ``ops_per_s``, ``delivered_per_s`` (averages over the load phase).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

LATENCY: Final = frozenset(
    {
        "connect",
        "welcome",
        "join",
        "accept",
        "op_ack",
        "op_delivery",
        "op_delivery_same_node",
        "op_delivery_cross_node",
        "resume",
        "call_setup",
        "help_claim",
        "help_fanout",
    }
)
STATS: Final = frozenset({"p50", "p75", "p90", "p95", "p99", "p999", "min", "mean", "max", "count"})
COUNTS: Final = frozenset(
    {
        "errors",
        "rejections",
        "gaps",
        "duplicates",
        "state_mismatches",
        "count_mismatches",
        "findings",
        "resumes",
        "resumes_snapshot",
        "members_failed",
        "ops",
        "delivered",
        "clients",
        "call_failures",
    }
)
RATIOS: Final = frozenset({"errors", "rejections", "members_failed", "resumes_snapshot", "call_failures"})
RATES: Final = frozenset({"ops_per_s", "delivered_per_s"})
OPS: Final[dict[str, Callable[[float, float], bool]]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_UNITS: Final = {"us": 0.001, "µs": 0.001, "ms": 1.0, "s": 1000.0}
_EXPR: Final = re.compile(
    r"^\s*(?P<metric>[a-z_]+)(?:\.(?P<stat>[a-z0-9]+))?\s*(?P<op><=|>=|==|!=|<|>)\s*"
    r"(?P<value>[0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*(?P<unit>us|µs|ms|s|%)?\s*$"
)


class SloError(ValueError):
    """An SLO expression that does not parse (a usage error: exit code 2)."""


@dataclass(frozen=True)
class Slo:
    text: str
    metric: str
    stat: str | None
    op: str
    threshold: float  # milliseconds for latencies, a fraction for %, else as written
    percent: bool

    def describe_value(self, value: float) -> str:
        if self.percent:
            return f"{value * 100:.4g}%"
        if self.metric in LATENCY and self.stat != "count":
            return f"{value:.3f}ms"
        return f"{value:.6g}"


def parse(text: str) -> Slo:
    match = _EXPR.match(text)
    if not match:
        raise SloError(f"cannot parse SLO {text!r}: expected METRIC[.STAT] OP NUMBER[UNIT], e.g. 'op_ack.p99 < 50ms'")
    metric, stat, op, unit = match["metric"], match["stat"], match["op"], match["unit"]
    value = float(match["value"])
    if metric in LATENCY:
        if stat is None or stat not in STATS:
            raise SloError(f"{text!r}: {metric} needs a statistic: .{' .'.join(sorted(STATS))}")
        if unit == "%":
            raise SloError(f"{text!r}: a latency takes us, ms or s, not %")
        if stat != "count":
            value *= _UNITS[unit or "ms"]
        elif unit is not None:
            raise SloError(f"{text!r}: a count takes no unit")
        return Slo(text.strip(), metric, stat, op, value, False)
    if stat is not None:
        raise SloError(f"{text!r}: {metric} has no statistics")
    if metric in COUNTS or metric in RATES:
        if unit == "%":
            if metric not in RATIOS:
                raise SloError(f"{text!r}: % is only for {', '.join(sorted(RATIOS))}")
            return Slo(text.strip(), metric, None, op, value / 100.0, True)
        if unit is not None:
            raise SloError(f"{text!r}: {metric} takes no unit")
        return Slo(text.strip(), metric, None, op, value, False)
    known = sorted(LATENCY | COUNTS | RATES)
    raise SloError(f"{text!r}: unknown metric {metric!r} (known: {', '.join(known)})")


def measure(slo: Slo, result: dict[str, Any]) -> float | None:
    """The measured value an SLO compares (None: nothing was measured)."""
    totals = result["totals"]
    if slo.metric in LATENCY:
        summary = result["latency"].get(slo.metric, {})
        if not summary.get("count"):
            return 0.0 if slo.stat == "count" else None
        return float(summary[slo.stat or "p99"])
    correctness = result["correctness"]["counts"]
    if slo.metric in ("gaps", "duplicates", "state_mismatches", "count_mismatches"):
        key = {"gaps": "gap", "duplicates": "duplicate", "state_mismatches": "state_mismatch"}.get(
            slo.metric, "count_mismatch"
        )
        return float(correctness.get(key, 0))
    if slo.metric == "findings":
        return float(sum(correctness.values()))
    if slo.metric == "ops_per_s":
        return float(totals["ops_per_s"])
    if slo.metric == "delivered_per_s":
        return float(totals["delivered_per_s"])
    counts = {
        "errors": (totals["errors"], totals["attempts"]),
        "rejections": (totals["rejections"], totals["ops_sent"]),
        "members_failed": (totals["members_failed"], totals["members_started"]),
        "resumes_snapshot": (totals["resumes_snapshot"], totals["resumes"]),
        "resumes": (totals["resumes"], 1),
        "ops": (totals["ops_acked"], 1),
        "delivered": (totals["delivered"], 1),
        "clients": (totals["peak_clients"], 1),
        "call_failures": (totals.get("call_failures", 0), totals.get("call_peers_expected", 0)),
    }
    count, base = counts[slo.metric]
    if slo.percent:
        return float(count) / base if base else 0.0
    return float(count)


def evaluate(slos: list[Slo], result: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for slo in slos:
        value = measure(slo, result)
        passed = value is not None and OPS[slo.op](value, slo.threshold)
        out.append(
            {
                "slo": slo.text,
                "value": value,
                "shown": "not measured" if value is None else slo.describe_value(value),
                "threshold": slo.threshold,
                "passed": passed,
            }
        )
    return out
