"""Tenant endpoints that only a secret key may call."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cosession.tenants.auth import TenantAuthError, tenant_key


async def whoami(request: Request) -> Response:
    """``GET /v1/tenant``: the tenant a secret key belongs to."""
    key = await tenant_key(request, allow_publishable=False)
    if key is None:
        raise TenantAuthError(401, "unauthorized", "an Authorization: Bearer sk_... header is required")
    t = key.tenant
    return JSONResponse({"id": t.id, "name": t.name, "origins": list(t.origins), "publishable_key": t.publishable_key})


routes = [Route("/v1/tenant", whoami, methods=["GET"])]
