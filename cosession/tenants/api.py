"""Tenant endpoints that only a secret key may call."""

from __future__ import annotations

import msgspec
from starlette.requests import Request

from cosession.http.endpoint import SECRET_KEY, Endpoint, endpoint
from cosession.tenants.auth import TenantAuthError, tenant_key


class TenantInfo(msgspec.Struct):
    id: str
    name: str
    origins: list[str]
    publishable_key: str


async def whoami(request: Request) -> TenantInfo:
    """``GET /v1/tenant``: the tenant a secret key belongs to."""
    key = await tenant_key(request, allow_publishable=False)
    if key is None:
        raise TenantAuthError(401, "unauthorized", "an Authorization: Bearer sk_... header is required")
    t = key.tenant
    return TenantInfo(id=t.id, name=t.name, origins=list(t.origins), publishable_key=t.publishable_key)


endpoints: list[Endpoint] = [
    endpoint(
        "GET",
        "/v1/tenant",
        whoami,
        "The tenant of a secret key",
        ok=TenantInfo,
        auth=(SECRET_KEY,),
        errors={401: ("unauthorized",), 403: ("forbidden",)},
        tag="tenant",
    )
]
routes = [e.route() for e in endpoints]
