"""The controller's view: per-second rows and run totals merged from every worker.

Workers send cumulative counters and *interval* histograms each second. A second's row
is the sum over workers of the counter deltas and the merge of their histograms for that
second; the run's histograms are the merge of every interval.
"""

from __future__ import annotations

from typing import Any

from loadtest import ipc
from loadtest.call_metrics import CALL_ROW_COUNTERS
from loadtest.histogram import Histogram
from loadtest.meter import COUNTERS, HISTOGRAMS

_SETTLED = ("members_joined", "members_failed", "members_late")
RATE_COUNTERS = ("ops_sent", "ops_acked", "delivered", "messages", "errors", "rejections", "resumes", "signals_sent")


class Aggregator:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.total: dict[str, Histogram] = {name: Histogram() for name in HISTOGRAMS}
        self._ticks: dict[int, dict[int, ipc.Tick]] = {}  # second -> worker -> tick
        self._last: dict[int, dict[str, int]] = {}  # worker -> cumulative counters at its last row
        self._last_errors: dict[int, dict[str, int]] = {}
        self.rows: list[dict[str, Any]] = []
        self.done_seconds = 0
        self.extra: dict[int, dict[str, Any]] = {}  # second -> controller samples (cpu)
        self.dead: set[int] = set()
        self._calling = False  # call counters moved: the rows carry them from then on

    def tick(self, tick: ipc.Tick) -> None:
        self._ticks.setdefault(tick.second, {})[tick.worker] = tick
        for name, encoded in tick.hist.items():
            if name in self.total:
                self.total[name].add(Histogram.decode(encoded))

    def final_histograms(self, final: ipc.Final) -> None:
        for name, encoded in final.hist.items():
            if name in self.total:
                self.total[name].add(Histogram.decode(encoded))

    def ready_rows(self, *, flush: bool = False) -> list[dict[str, Any]]:
        """Rows for the seconds every (live) worker has reported; all of them when ``flush``."""
        out = []
        while True:
            second = self.done_seconds + 1
            ticks = self._ticks.get(second)
            if ticks is None:
                break
            alive = set(range(self.workers)) - self.dead
            if not flush and not alive.issubset(ticks):
                break
            out.append(self._row(second, self._ticks.pop(second)))
            self.done_seconds = second
        self.rows.extend(out)
        return out

    def _row(self, second: int, ticks: dict[int, ipc.Tick]) -> dict[str, Any]:
        deltas = dict.fromkeys(COUNTERS, 0)
        errors: dict[str, int] = {}
        hists: dict[str, Histogram] = {}
        connected = 0
        for worker, tick in ticks.items():
            last = self._last.get(worker, {})
            for key, value in tick.counters.items():
                deltas[key] = deltas.get(key, 0) + value - last.get(key, 0)
            self._last[worker] = tick.counters
            last_err = self._last_errors.get(worker, {})
            for code, value in tick.errors.items():
                if value - last_err.get(code, 0):
                    errors[code] = errors.get(code, 0) + value - last_err.get(code, 0)
            self._last_errors[worker] = tick.errors
            connected += tick.connected
            for name, encoded in tick.hist.items():
                hists.setdefault(name, Histogram()).add(Histogram.decode(encoded))
        row: dict[str, Any] = {"t": second, "clients": connected}
        for key in RATE_COUNTERS:
            row[key] = deltas.get(key, 0)
        if any(deltas.get(key, 0) for key in CALL_ROW_COUNTERS) or self._calling:  # the `call` scenario
            self._calling = True
            row.update({key: deltas.get(key, 0) for key in CALL_ROW_COUNTERS})
        row["joined"] = sum(t.counters.get("members_joined", 0) for t in ticks.values())
        # members whose arrival is over: joined, failed to join, or too late to start
        row["settled"] = sum(t.counters.get(key, 0) for t in ticks.values() for key in _SETTLED)
        row["errors_by_code"] = errors
        for name in ("op_ack", "op_delivery", "welcome", "resume", "connect"):
            hist = hists.get(name)
            if hist is not None and hist.count:
                row[f"{name}_p50"] = round(hist.percentile_ms(50), 3)
                row[f"{name}_p99"] = round(hist.percentile_ms(99), 3)
                row[f"{name}_n"] = hist.count
        row.update(self.extra.pop(second, {}))
        return row
