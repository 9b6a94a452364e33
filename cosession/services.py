"""The server's long-lived parts, wired together once per process and shared by handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client.registry import CollectorRegistry

from cosession.auth import TokenSigner
from cosession.config import Settings
from cosession.http.ratelimit import RestLimits
from cosession.hub.hub import Hub
from cosession.metrics.collector import registry_for
from cosession.metrics.counters import Metrics
from cosession.rooms.registry import RoomRegistry
from cosession.store.committer import GroupCommitter
from cosession.store.store import Store
from cosession.trends.focus import FocusRecorder

if TYPE_CHECKING:
    from cosession.cluster import ClusterNode
    from cosession.help.service import HelpService
    from cosession.notify.service import NotifyService
    from cosession.qa.service import QaService
    from cosession.retail.catalog import CatalogClient
    from cosession.retail.service import Retail
    from cosession.webhooks.service import WebhookService


__all__ = ["Metrics", "Services"]


@dataclass
class Services:
    settings: Settings
    signer: TokenSigner
    store: Store
    hub: Hub
    committer: GroupCommitter
    registry: RoomRegistry
    metrics: Metrics = field(default_factory=Metrics)
    draining: bool = False
    cluster: ClusterNode | None = None
    webhooks: WebhookService | None = None  # set by app.build_services; .stats for /metrics
    notify: NotifyService | None = None  # notifications while away (cosession/notify, SPEC 18)
    retail: Retail | None = None  # checkout snapshots, catalog revalidation (cosession/retail)
    qa: QaService | None = None  # product Q&A threads and answers into rooms (cosession/qa)
    help: HelpService | None = None  # the associates' help queue (cosession/help)
    rest_limits: RestLimits = field(init=False)
    prometheus: CollectorRegistry = field(init=False)  # this app's /metrics (never the global registry)
    focus: FocusRecorder = field(init=False)  # products each room looked at, for trends (no member ids)

    @property
    def catalog(self) -> CatalogClient | None:
        """Catalog calls; ``services.catalog.stats`` holds the counters."""
        return self.retail.catalog if self.retail is not None else None

    def __post_init__(self) -> None:
        self.registry.metrics = self.metrics  # rooms time op->ack and fan-out into it
        self.prometheus = registry_for(self)
        self.focus = FocusRecorder(self.store)
        s = self.settings
        self.rest_limits = RestLimits(
            rooms_per_minute=s.rooms_per_minute,
            accepts_per_minute=s.accepts_per_minute,
            pk_invites_per_minute=s.pk_invites_per_minute,
        )
