"""Builds the retail extension from the server's services (called once by the app)."""

from __future__ import annotations

from cosession.http.ratelimit import AddressLimiter
from cosession.retail.catalog import CatalogClient
from cosession.retail.catalog_store import CatalogSettings
from cosession.retail.service import Retail
from cosession.services import Services
from cosession.tenants.store import TenantStore


def build_retail(services: Services) -> Retail:
    s = services.settings
    catalog = CatalogClient(
        timeout=s.catalog_timeout,
        concurrency=s.catalog_concurrency,
        breaker_threshold=s.catalog_breaker_failures,
        breaker_cooldown=s.catalog_breaker_cooldown,
    )
    retail = Retail(
        secret=lambda: services.settings.secret,
        catalog=catalog,
        settings=CatalogSettings(TenantStore(services.store)),
        rooms=lambda: list(services.registry.rooms.values()),
        interval=s.catalog_interval,
    )
    retail.lookup_limit = AddressLimiter(s.catalog_lookups_per_minute)
    return retail
