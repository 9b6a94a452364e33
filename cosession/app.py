"""The ASGI application: wires settings, store, committer, hub and rooms; routes HTTP and WS."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import structlog
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute

from cosession.auth import TokenSigner
from cosession.config import Settings, resolve_secret
from cosession.gateway.session import websocket_endpoint
from cosession.http.api import ApiError, api_error_handler, routes
from cosession.hub.hub_memory import MemoryHub
from cosession.rooms.registry import RoomRegistry
from cosession.services import Services
from cosession.store.committer import GroupCommitter
from cosession.store.store_sql import SqlStore
from protocol.errors import CloseCode

log = structlog.get_logger("cosession.app")


def build_services(settings: Settings) -> Services:
    settings = resolve_secret(settings)
    store = SqlStore(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    hub = MemoryHub()
    committer = GroupCommitter(store)
    registry = RoomRegistry(settings, store, hub, committer)
    return Services(
        settings=settings,
        signer=TokenSigner(settings.secret),
        store=store,
        hub=hub,
        committer=committer,
        registry=registry,
    )


def create_app(settings: Settings) -> Starlette:
    services = build_services(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await services.store.start()
        await services.hub.start()
        services.committer.start()
        log.info("cosession ready", url=services.settings.base_url, database=services.settings.database_url)
        try:
            yield
        finally:
            services.draining = True
            services.registry.close_all(CloseCode.GOING_AWAY, "server shutting down")
            await services.committer.stop()
            services.registry.stop()
            await services.hub.stop()
            await services.store.close()
            log.info("cosession stopped")

    app = Starlette(
        routes=[*routes, WebSocketRoute("/v1/ws", websocket_endpoint)],
        lifespan=lifespan,
        exception_handlers={ApiError: api_error_handler},
    )
    app.state.services = services
    return app
