"""The server's long-lived parts, wired together once per process and shared by handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cosession.auth import TokenSigner
from cosession.config import Settings
from cosession.http.ratelimit import RestLimits
from cosession.hub.hub import Hub
from cosession.rooms.registry import RoomRegistry
from cosession.store.committer import GroupCommitter
from cosession.store.store import Store

if TYPE_CHECKING:
    from cosession.cluster import ClusterNode
    from cosession.retail.catalog import CatalogClient
    from cosession.retail.service import Retail


@dataclass
class Metrics:
    """Counters exposed on /metrics (Prometheus text format)."""

    connections: int = 0
    joins: int = 0
    resumes: int = 0
    ops: int = 0
    bad_frames: int = 0
    rate_limited: int = 0
    slow_closes: int = 0


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
    retail: Retail | None = None  # checkout snapshots, catalog revalidation (cosession/retail)
    rest_limits: RestLimits = field(init=False)

    @property
    def catalog(self) -> CatalogClient | None:
        """Catalog calls; ``services.catalog.stats`` holds the counters."""
        return self.retail.catalog if self.retail is not None else None

    def __post_init__(self) -> None:
        s = self.settings
        self.rest_limits = RestLimits(
            rooms_per_minute=s.rooms_per_minute,
            accepts_per_minute=s.accepts_per_minute,
            pk_invites_per_minute=s.pk_invites_per_minute,
        )
