"""The Prometheus collector: reads the server's plain counters when ``/metrics`` is scraped.

Every app gets its own ``CollectorRegistry`` (``registry_for``), never the library's global
one: tests run several apps in one process, and a scrape must describe one server.

``services.webhooks.stats``, ``services.notify.stats`` and ``services.catalog.stats`` are
read through ``WEBHOOK_STATS``, ``NOTIFY_STATS`` and ``CATALOG_STATS`` (metric name →
attribute of the stats object).
Both objects exist from start-up, so every one of these metrics is exported, at 0
before any delivery or catalog call. A missing stats object yields no sample.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from prometheus_client import ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from cosession.metrics.counters import LatencyHistogram

if TYPE_CHECKING:
    from cosession.services import Services

Kind = Literal["counter", "gauge"]

# (metric name without _total, attribute, kind, help): the attributes of
# ``cosession.webhooks.worker.WebhookStats`` and ``cosession.retail.catalog.CatalogStats``
# (tests/unit/test_metrics_tables.py checks every attribute exists).
WEBHOOK_STATS: tuple[tuple[str, str, Kind, str], ...] = (
    ("cosession_webhook_enqueued", "enqueued", "counter", "Webhook outbox rows written by this node's commits."),
    ("cosession_webhook_deliveries", "delivered", "counter", "Webhook delivery attempts answered 2xx."),
    ("cosession_webhook_failures", "failed", "counter", "Webhook delivery attempts that failed (non-2xx, timeout)."),
    ("cosession_webhook_dead_letters", "dead_lettered", "counter", "Webhook messages given up (dead-lettered)."),
    ("cosession_webhook_in_flight", "in_flight", "gauge", "Webhook delivery attempts running now on this node."),
    ("cosession_webhook_lag_seconds", "lag_seconds", "gauge", "Age of the oldest undelivered webhook message."),
)
NOTIFY_STATS: tuple[tuple[str, str, Kind, str], ...] = (  # cosession.notify.worker.NotifyStats
    ("cosession_notify_digests", "digests", "counter", "Digest sweeps of this node that sent notifications."),
    ("cosession_push_deliveries", "pushed", "counter", "Web Push calls answered 2xx."),
    ("cosession_push_failures", "push_failed", "counter", "Web Push calls that failed (retried or given up)."),
    ("cosession_push_gone", "push_gone", "counter", "Push subscriptions removed after a 404/410."),
)
CATALOG_STATS: tuple[tuple[str, str, Kind, str], ...] = (
    ("cosession_catalog_calls", "calls", "counter", "Calls made to tenants' catalog endpoints."),
    ("cosession_catalog_successes", "ok", "counter", "Catalog calls answered on contract."),
    ("cosession_catalog_failures", "failures", "counter", "Catalog calls that failed (timeouts included)."),
    ("cosession_catalog_timeouts", "timeouts", "counter", "Catalog calls that timed out."),
    ("cosession_catalog_rejected_open", "rejected_open", "counter", "Catalog calls not made: the breaker was open."),
    ("cosession_catalog_breaker_opens", "breaker_opens", "counter", "Times a catalog circuit breaker opened."),
)


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _histogram(name: str, doc: str, hist: LatencyHistogram) -> HistogramMetricFamily:
    return HistogramMetricFamily(name, doc, buckets=hist.cumulative(), sum_value=hist.sum)


def _from_stats(stats: Any, table: tuple[tuple[str, str, Kind, str], ...]) -> Iterator[Metric]:
    """Samples for the attributes ``stats`` has (none at all when ``stats`` is None)."""
    if stats is None:
        return
    for name, attr, kind, doc in table:
        value = getattr(stats, attr, None)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        yield _counter(name, doc, value) if kind == "counter" else _gauge(name, doc, value)


def _tag(cls: type) -> str:
    config = getattr(cls, "__struct_config__", None)
    tag = getattr(config, "tag", None)
    return tag if isinstance(tag, str) else cls.__name__


class ServerCollector(Collector):
    """Everything ``Services`` knows, read at scrape time."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def collect(self) -> Iterator[Metric]:
        services = self._services
        m = services.metrics
        yield _gauge("cosession_connections", "Open WebSocket connections.", m.connections)
        yield _gauge("cosession_rooms_loaded", "Rooms loaded in this node's memory.", len(services.registry.rooms))
        yield _counter("cosession_joins", "Successful joins (hello answered with welcome).", m.joins)
        yield _counter("cosession_resumes", "Joins that resumed from (epoch, seq).", m.resumes)
        yield _counter("cosession_ops", "Ops received from members.", m.ops)
        by_type = CounterMetricFamily(
            "cosession_ops_by_type", "Ops received from members, by op type.", labels=["type"]
        )
        for cls, n in sorted(m.ops_by_type.items(), key=lambda item: _tag(item[0])):
            by_type.add_metric([_tag(cls)], n)
        yield by_type
        yield _counter("cosession_bad_frames", "Frames refused as malformed.", m.bad_frames)
        yield _counter("cosession_rate_limited", "Frames refused by the rate limit.", m.rate_limited)
        yield _counter("cosession_slow_closes", "Send-queue (outbox) overflows: slow consumers closed.", m.slow_closes)
        yield _counter("cosession_commit_batches", "Group-commit batches written.", services.committer.batches)
        yield _counter("cosession_events_committed", "Events written to the SQL log.", services.committer.committed)
        yield _gauge("cosession_commit_backlog", "Events waiting for the group commit.", services.committer.backlog)
        yield _histogram("cosession_op_ack_seconds", "Op accepted by its room until its ack is sent.", m.op_ack_seconds)
        yield _histogram(
            "cosession_fanout_seconds", "Event sequenced until its frames are queued to members.", m.fanout_seconds
        )
        yield _gauge("cosession_draining", "1 while the node drains for shutdown.", int(services.draining))
        # webhooks and catalog (no samples while the objects are absent)
        yield from _from_stats(getattr(getattr(services, "webhooks", None), "stats", None), WEBHOOK_STATS)
        yield from _from_stats(getattr(getattr(services, "notify", None), "stats", None), NOTIFY_STATS)
        catalog = getattr(services, "catalog", None)
        yield from _from_stats(getattr(catalog, "stats", None), CATALOG_STATS)
        from cosession.help.stats import collect as help_metrics  # the help queue (cosession/help)

        help_service = getattr(services, "help", None)
        yield from help_metrics(getattr(help_service, "stats", None))
        if catalog is not None:
            yield _gauge(
                "cosession_catalog_breakers_open",
                "Catalog endpoints whose breaker on this node is open (or half open).",
                catalog.open_breakers(),
            )


def registry_for(services: Services) -> CollectorRegistry:
    """A fresh registry with this server's collector and the process metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServerCollector(services))
    ProcessCollector(registry=registry)
    return registry
