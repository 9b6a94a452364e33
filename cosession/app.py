"""The ASGI application: wires settings, store, committer, hub and rooms; routes HTTP and WS."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable
from typing import cast

import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import WebSocketRoute

from cosession import __version__
from cosession.admin.api import AdminContext
from cosession.admin.api import endpoints as admin_endpoints
from cosession.admin.retention import RetentionSweeper
from cosession.auth import TokenSigner
from cosession.config import Settings, resolve_secret
from cosession.extras import require_cluster, require_postgres
from cosession.gateway.session import websocket_endpoint
from cosession.help.api import endpoints as help_endpoints
from cosession.help.api import routes as help_routes
from cosession.help.service import HelpService
from cosession.http.api import ApiError, api_error_handler, routes
from cosession.http.api import endpoints as api_endpoints
from cosession.http.openapi import openapi_routes
from cosession.hub.hub_memory import MemoryHub
from cosession.notify.api import endpoints as notify_endpoints
from cosession.notify.api import routes as notify_routes
from cosession.notify.service import NotifyService
from cosession.polls.deadlines import DeadlineStore
from cosession.polls.sweeper import PollSweeper
from cosession.qa.api import endpoints as qa_endpoints
from cosession.qa.api import routes as qa_routes
from cosession.qa.wiring import build_qa
from cosession.retail.api import endpoints as retail_endpoints
from cosession.retail.api import routes as retail_routes
from cosession.retail.lookup_api import endpoints as lookup_endpoints
from cosession.retail.lookup_api import routes as lookup_routes
from cosession.retail.wiring import build_retail
from cosession.rooms.registry import RoomRegistry
from cosession.services import Services
from cosession.signing.shared import shared_secret
from cosession.store.committer import GroupCommitter
from cosession.store.store_sql import SqlStore
from cosession.stores.api import endpoints as store_endpoints
from cosession.stores.web import routes as store_web_routes
from cosession.tenants.api import endpoints as tenant_endpoints
from cosession.tenants.api import routes as tenant_routes
from cosession.tenants.auth import TenantAuthError, TenantMiddleware, tenant_auth_error_handler
from cosession.tenants.store import TenantStore
from cosession.trends.api import endpoints as trends_endpoints
from cosession.trends.api import routes as trends_routes
from cosession.web.assets import BUILD_HINT
from cosession.web.demo import demo_origins
from cosession.web.routes import assets
from cosession.web.routes import routes as web_routes
from cosession.webhooks.api import endpoints as webhook_endpoints
from cosession.webhooks.api import routes as webhook_routes
from cosession.webhooks.service import WebhookService
from protocol.errors import CloseCode

log = structlog.get_logger("cosession.app")


def build_services(settings: Settings) -> Services:
    if settings.database_url.startswith(("postgresql", "postgres:")):
        require_postgres()
    if settings.redis_url:
        require_cluster()
    settings = resolve_secret(settings)
    if settings.redis_url and not settings.node_id:
        settings = dataclasses.replace(settings, node_id=f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}")
    store = SqlStore(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    hub = MemoryHub()
    committer = GroupCommitter(store, max_queue=settings.commit_queue_max)
    redis_hub = None
    if settings.redis_url:
        from cosession.hub.hub_redis import RedisHub  # the [cluster] extra: imported only in cluster mode

        redis_hub = RedisHub(settings.redis_url, node_id=settings.node_id)
    registry = RoomRegistry(settings, store, hub, committer, redis_hub)
    services = Services(
        settings=settings,
        # no secret yet (PostgreSQL without --secret): the database's replaces this at start-up
        signer=TokenSigner(settings.secret or secrets.token_urlsafe(32)),
        store=store,
        hub=hub,
        committer=committer,
        registry=registry,
    )
    services.webhooks = WebhookService(settings, store)
    registry.on_member_left = services.webhooks.member_left
    services.notify = NotifyService(settings, store)
    if redis_hub is not None:
        from cosession.cluster import ClusterNode

        services.cluster = ClusterNode(settings, redis_hub, registry)
    services.retail = build_retail(services)
    registry.extension = services.retail
    services.qa = build_qa(services)  # chained after retail
    services.help = HelpService(services)
    return services


def redact_url(url: str) -> str:
    """A database or Redis URL fit for logs: the password hidden, in the userinfo part
    (``redis://:pw@host``) and in the query (``redis://host/0?password=pw``)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return "<unparseable url>"
    hidden = {k: "***" for k in parsed.query if k.lower() in ("password", "pass", "pwd")}
    return parsed.update_query_dict(hidden).render_as_string(hide_password=True)


async def _bounded(what: str, step: Awaitable[None], seconds: float) -> None:
    try:
        async with asyncio.timeout(seconds):
            await step
    except TimeoutError:
        log.error("shutdown step timed out", step=what, seconds=seconds)


def create_app(settings: Settings) -> Starlette:
    services = build_services(settings)
    tenants = TenantStore(services.store)
    admin = AdminContext(services)
    sweeper = RetentionSweeper(services, admin.store)
    polls = PollSweeper(services, DeadlineStore(cast(SqlStore, services.store)))
    cast(SqlStore, services.store).on_poll_deadline = polls.wake
    # every described /v1 endpoint, for /v1/openapi.json and /v1/docs (one entry per module)
    described = [
        *api_endpoints,
        *tenant_endpoints,
        *admin_endpoints,
        *trends_endpoints,
        *webhook_endpoints,
        *retail_endpoints,
        *qa_endpoints,
        *lookup_endpoints,
        *store_endpoints,
        *help_endpoints,
        *notify_endpoints,
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await services.store.start()
        if not services.settings.secret:
            secret = await shared_secret(services.store)
            services.settings = dataclasses.replace(services.settings, secret=secret)
            services.signer = TokenSigner(secret)
        await services.hub.start()
        services.committer.start()
        services.focus.start()
        if services.webhooks is not None:
            await services.webhooks.start()
        if services.notify is not None:
            await services.notify.start()
        if services.retail is not None:
            services.retail.start()
        if services.qa is not None:
            services.qa.start()
        if services.settings.demo:
            await tenants.ensure_demo(demo_origins(services.settings.base_url))
        if assets().missing():
            log.warning("browser bundles missing: /widget.js and /r/... answer 503", hint=BUILD_HINT)
        if services.cluster is not None:
            await services.cluster.hub.start()
            if not await services.cluster.hub.wait_ready(10.0):
                log.warning(
                    "redis not reachable yet: not ready until it is", redis=redact_url(services.settings.redis_url)
                )
            services.cluster.start()
        sweeper.start()
        polls.start()
        if services.help is not None:
            services.help.start()
        log.info("cosession ready", url=services.settings.base_url, database=redact_url(services.settings.database_url))
        try:
            yield
        finally:
            services.draining = True
            await _bounded("stop the retention sweeper", sweeper.stop(), 3.0)
            await _bounded("stop the poll sweeper", polls.stop(), 3.0)
            if services.help is not None:
                await _bounded("stop the help queue", services.help.stop(), 3.0)
            services.registry.close_all(CloseCode.GOING_AWAY, "server shutting down")
            # every step is bounded: a node must exit after its deadline even if a backend hangs
            await _bounded("flush the commit queue", services.committer.stop(), 10.0)
            await _bounded("write read cursors", services.registry.cursor_writer.aclose(), 3.0)
            await _bounded("write focus rows", services.focus.stop(), 3.0)
            if services.webhooks is not None:
                await _bounded("stop webhook deliveries", services.webhooks.stop(), 5.0)
            if services.notify is not None:
                await _bounded("stop notifications", services.notify.stop(), 5.0)
            services.registry.stop()
            if services.retail is not None:
                await _bounded("stop catalog checks", services.retail.stop(), 3.0)
            if services.qa is not None:
                await _bounded("stop Q&A deliveries", services.qa.stop(), 3.0)
            if services.cluster is not None:
                await _bounded("leave the cluster", services.cluster.stop(), 3.0)
                await _bounded("close redis", services.cluster.hub.stop(), 3.0)
            await _bounded("stop the hub", services.hub.stop(), 3.0)
            await _bounded("close the database", services.store.close(), 3.0)
            log.info("cosession stopped")

    app = Starlette(
        routes=[
            *routes,
            *web_routes,
            *tenant_routes,
            *trends_routes,  # /v1/trends and /v1/admin/trends
            *webhook_routes,
            *retail_routes,
            *qa_routes,
            *lookup_routes,
            *help_routes,
            *notify_routes,
            *(e.route() for e in admin_endpoints),
            *(e.route() for e in store_endpoints),
            *store_web_routes,
            *openapi_routes(described, version=__version__),
            WebSocketRoute("/v1/ws", websocket_endpoint),
        ],
        middleware=[Middleware(TenantMiddleware, tenants=tenants)],
        lifespan=lifespan,
        exception_handlers={ApiError: api_error_handler, TenantAuthError: tenant_auth_error_handler},
    )
    app.state.services = services
    app.state.polls = polls
    app.state.tenants = tenants
    app.state.admin = admin
    return app
