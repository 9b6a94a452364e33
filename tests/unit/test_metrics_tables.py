"""The collector's webhook and catalog tables name the real stats attributes: every
counter the two stats objects keep is exported, under one metric each, and a fresh
server exports them all at 0."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from cosession.app import build_services
from cosession.config import Settings
from cosession.metrics.collector import CATALOG_STATS, NOTIFY_STATS, WEBHOOK_STATS, registry_for
from cosession.notify.worker import NotifyStats
from cosession.retail.catalog import CatalogStats
from cosession.webhooks.worker import WebhookStats


def test_tables_cover_exactly_the_stats_attributes() -> None:
    assert {attr for _, attr, _, _ in WEBHOOK_STATS} == {f.name for f in dataclasses.fields(WebhookStats)}
    assert {attr for _, attr, _, _ in CATALOG_STATS} == {f.name for f in dataclasses.fields(CatalogStats)}
    assert {attr for _, attr, _, _ in NOTIFY_STATS} == {f.name for f in dataclasses.fields(NotifyStats)}
    names = [name for name, _, _, _ in WEBHOOK_STATS + CATALOG_STATS + NOTIFY_STATS]
    assert len(names) == len(set(names))


def test_a_fresh_server_exports_them_at_zero(tmp_path: Path) -> None:
    services = build_services(Settings(database_url=f"sqlite:///{tmp_path}/m.db", secret="s"))
    text = generate_latest(registry_for(services)).decode()
    samples = {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}
    for name, _, kind, _ in WEBHOOK_STATS + CATALOG_STATS + NOTIFY_STATS:
        assert samples[name + ("_total" if kind == "counter" else "")] == 0, name
    assert samples["cosession_catalog_breakers_open"] == 0
    services.webhooks.stats.delivered = 3  # type: ignore[union-attr]
    assert services.catalog is not None
    services.catalog.stats.calls = 2
    text = generate_latest(registry_for(services)).decode()
    samples = {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}
    assert samples["cosession_webhook_deliveries_total"] == 3 and samples["cosession_catalog_calls_total"] == 2
