"""Tenant keys on HTTP requests, CORS for browsers, and the WebSocket ``Origin`` check.

Rules:

* ``Authorization: Bearer pk_…`` (publishable, in web pages) is accepted only by
  ``POST /v1/rooms`` and ``POST /v1/rooms/{room}/invites``, and only when the request's
  ``Origin`` is one of the tenant's allowed origins; anywhere else it gets 403. Since any
  program can send any ``Origin``, the invite endpoint trusts it with member invites only,
  rate-limited per client address (``cosession/http/api.py``).
* ``Authorization: Bearer sk_…`` (secret, server to server) works on every tenant
  endpoint, with or without an ``Origin``.
* CORS: a preflight is answered for origins some tenant allows; the actual response
  carries ``Access-Control-Allow-Origin`` (the exact origin, never ``*``) only when the
  key's tenant allows that origin, so a browser on any other origin sees a CORS failure.
  Starlette's ``CORSMiddleware`` has one static list; ours is per tenant.
* WebSocket: for a room that belongs to a tenant, a handshake whose ``Origin`` is present
  and is neither one of the tenant's origins nor the server's own origin is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cosession.tenants.keys import PUBLISHABLE_PREFIX, SECRET_PREFIX, origin_or_none
from cosession.tenants.store import Tenant, TenantStore

# Endpoints a publishable key may call (POST only), and that browsers call cross-origin.
_CORS_PATH = re.compile(r"^/v1/rooms(?:/[^/]+/invites)?$")
_STATE_CORS_ORIGIN = "cosession_cors_origin"
PUBLISHABLE_ONLY_MESSAGE = "publishable keys can only create rooms and invites"


@dataclass(frozen=True)
class TenantKey:
    tenant: Tenant
    kind: Literal["publishable", "secret"]


class TenantAuthError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def tenant_auth_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TenantAuthError)
    return _error(exc.status, exc.code, exc.message)


def tenants_of(conn: HTTPConnection) -> TenantStore | None:
    tenants: TenantStore | None = getattr(conn.app.state, "tenants", None)
    return tenants


def bearer_token(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def is_tenant_key(token: str | None) -> bool:
    return token is not None and token.startswith((PUBLISHABLE_PREFIX, SECRET_PREFIX))


async def tenant_key(request: Request, *, allow_publishable: bool) -> TenantKey | None:
    """The tenant key on ``request``, checked; None when the request carries none (no
    Authorization, or a member token). Raises ``TenantAuthError``."""
    token = bearer_token(request.headers)
    if token is None or not is_tenant_key(token):
        return None
    tenants = tenants_of(request)
    if tenants is None:  # pragma: no cover - the app always installs it
        raise TenantAuthError(503, "unavailable", "tenants are not configured on this server")
    origin = origin_or_none(request.headers.get("origin"))
    if token.startswith(PUBLISHABLE_PREFIX):
        if not allow_publishable:
            raise TenantAuthError(403, "forbidden", PUBLISHABLE_ONLY_MESSAGE)
        tenant = await tenants.by_publishable_key(token)
        if tenant is None:
            raise TenantAuthError(401, "unauthorized", "unknown publishable key")
        if origin is None or origin not in tenant.origins:
            raise TenantAuthError(
                403, "origin_not_allowed", f"this publishable key does not work from origin {origin or '(none)'}"
            )
        request.scope.setdefault("state", {})[_STATE_CORS_ORIGIN] = origin
        return TenantKey(tenant, "publishable")
    tenant = await tenants.by_secret_key(token)
    if tenant is None:
        raise TenantAuthError(401, "unauthorized", "unknown secret key")
    if origin is not None and origin in tenant.origins:
        request.scope.setdefault("state", {})[_STATE_CORS_ORIGIN] = origin
    return TenantKey(tenant, "secret")


async def require_tenant_room(request: Request, key: TenantKey, room_id: str) -> None:
    """404 unless ``room_id`` was created with ``key``'s tenant."""
    tenants = tenants_of(request)
    assert tenants is not None
    if await tenants.room_tenant(room_id) != key.tenant.id:
        raise TenantAuthError(404, "room_not_found", "no such room for this tenant")


def own_origins(conn: HTTPConnection) -> set[str]:
    """The server's own origin(s): its public base URL, and the host the client asked for."""
    services = conn.app.state.services
    out = {o for o in (origin_or_none(services.settings.base_url),) if o}
    host = conn.headers.get("host")
    if host:
        for scheme in ("http", "https"):
            origin = origin_or_none(f"{scheme}://{host}")
            if origin:
                out.add(origin)
    return out


async def websocket_origin_refusal(conn: HTTPConnection, room_id: str) -> str | None:
    """Why this WebSocket may not join ``room_id`` (None: it may)."""
    raw = conn.headers.get("origin")
    if raw is None:
        return None  # not a browser: tokens are the check
    tenants = tenants_of(conn)
    if tenants is None:
        return None
    tenant_id = await tenants.room_tenant(room_id)
    if tenant_id is None:
        return None
    origin = origin_or_none(raw)
    if origin is not None and origin in own_origins(conn):
        return None
    tenant = await tenants.get(tenant_id)
    if tenant is not None and origin is not None and origin in tenant.origins:
        return None
    return f"origin {raw} is not allowed for this room"


class TenantMiddleware:
    """Per-tenant CORS on the two browser endpoints, and 403 for a publishable key
    anywhere else. Pure ASGI (no response buffering; WebSockets pass through)."""

    def __init__(self, app: ASGIApp, tenants: TenantStore) -> None:
        self.app = app
        self.tenants = tenants

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path: str = scope["path"]
        method: str = scope["method"]
        cors_path = _CORS_PATH.match(path) is not None
        token = bearer_token(headers)
        if token is not None and token.startswith(PUBLISHABLE_PREFIX) and not (cors_path and method == "POST"):
            await _error(403, "forbidden", PUBLISHABLE_ONLY_MESSAGE)(scope, receive, send)
            return
        origin = origin_or_none(headers.get("origin"))
        if not cors_path or origin is None:
            await self.app(scope, receive, send)
            return
        if method == "OPTIONS" and "access-control-request-method" in headers:
            response = await self._preflight(origin, headers)
            await response(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                state: dict[str, Any] = scope.get("state", {})
                allowed = state.get(_STATE_CORS_ORIGIN)
                out = list(message.get("headers", []))
                out.append((b"vary", b"Origin"))
                if allowed == origin:
                    out.append((b"access-control-allow-origin", origin.encode("latin-1")))
                message = {**message, "headers": out}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, origin: str, headers: Headers) -> Response:
        vary = {"vary": "Origin"}
        if headers.get("access-control-request-method", "").upper() != "POST" or not await self.tenants.origin_known(
            origin
        ):
            return Response(status_code=403, headers=vary)
        return Response(
            status_code=204,
            headers={
                **vary,
                "access-control-allow-origin": origin,
                "access-control-allow-methods": "POST",
                "access-control-allow-headers": "authorization, content-type",
                "access-control-max-age": "600",
            },
        )
