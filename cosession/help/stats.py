"""Service figures of the help queue kept by this node, read by ``/metrics``.

Labels are the request's store and department (``""`` when absent) and, for claims, the
associate id (tenant staff, never a shopper). Departments are free text from rooms, so the
number of label sets is bounded: past ``MAX_LABEL_SETS`` new ones count under ``other``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from cosession.metrics.counters import LatencyHistogram

SERVICE_BUCKETS: tuple[float, ...] = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
MAX_LABEL_SETS = 200
OTHER = "other"

Place = tuple[str, str]  # (store, department)


class HelpStats:
    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, str]] = Counter()  # (store, department, where)
        self.claims: Counter[Place] = Counter()
        self.escalations: Counter[Place] = Counter()
        self.claims_by_associate: Counter[str] = Counter()
        self.claim_seconds: dict[Place, LatencyHistogram] = {}
        self.answer_seconds: dict[Place, LatencyHistogram] = {}
        self._places: set[Place] = set()

    def place(self, store: str | None, department: str | None) -> Place:
        key = (store or "", department or "")
        if key in self._places:
            return key
        if len(self._places) >= MAX_LABEL_SETS:
            return (OTHER, OTHER)
        self._places.add(key)
        return key

    def requested(self, store: str | None, department: str | None, where: str) -> None:
        self.requests[(*self.place(store, department), where)] += 1

    def claimed(self, store: str | None, department: str | None, associate: str, seconds: float) -> None:
        key = self.place(store, department)
        self.claims[key] += 1
        if len(self.claims_by_associate) < MAX_LABEL_SETS or associate in self.claims_by_associate:
            self.claims_by_associate[associate] += 1
        self.claim_seconds.setdefault(key, LatencyHistogram(SERVICE_BUCKETS)).observe(seconds)

    def answered(self, store: str | None, department: str | None, seconds: float) -> None:
        key = self.place(store, department)
        self.answer_seconds.setdefault(key, LatencyHistogram(SERVICE_BUCKETS)).observe(seconds)

    def escalated(self, store: str | None, department: str | None) -> None:
        self.escalations[self.place(store, department)] += 1


def _histograms(name: str, doc: str, hists: dict[Place, LatencyHistogram]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=["store", "department"])
    for (store, department), hist in sorted(hists.items()):
        family.add_metric([store, department], hist.cumulative(), hist.sum)
    return family


def collect(stats: HelpStats | None) -> Iterator[Metric]:
    """The help queue's metrics (always exported, empty before the first request)."""
    if stats is None:
        return
    requests = CounterMetricFamily(
        "cosession_help_requests",
        "Help requests raised (this node committed them).",
        labels=["store", "department", "where"],
    )
    for labels, n in sorted(stats.requests.items()):
        requests.add_metric(list(labels), n)
    yield requests
    claims = CounterMetricFamily(
        "cosession_help_claims", "Help requests claimed by an associate.", labels=["store", "department"]
    )
    for place, n in sorted(stats.claims.items()):
        claims.add_metric(list(place), n)
    yield claims
    per_associate = CounterMetricFamily(
        "cosession_help_claims_by_associate", "Help requests claimed, per associate id.", labels=["associate"]
    )
    for associate, n in sorted(stats.claims_by_associate.items()):
        per_associate.add_metric([associate], n)
    yield per_associate
    escalations = CounterMetricFamily(
        "cosession_help_escalations", "Escalations of unclaimed help requests.", labels=["store", "department"]
    )
    for place, n in sorted(stats.escalations.items()):
        escalations.add_metric(list(place), n)
    yield escalations
    yield _histograms("cosession_help_claim_seconds", "Help request raised until claimed.", stats.claim_seconds)
    yield _histograms(
        "cosession_help_first_answer_seconds",
        "Help request claimed until the associate's first chat message in the room.",
        stats.answer_seconds,
    )
