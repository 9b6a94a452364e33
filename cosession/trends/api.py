"""``GET /v1/trends``: a tenant's anonymous trends as JSON or CSV (secret key only).

Declared with the endpoint layer (``cosession/http/endpoint.py``), so the OpenAPI
document lists it with both its JSON and its ``text/csv`` answer.

Query: ``from`` / ``to`` (ISO dates, UTC, inclusive; default the last 30 days),
``k`` (at least the tenant's k: the server's ``trends_min_group``, or the larger k the
tenant set with ``PUT /v1/admin/trends``; asking more is allowed, less is 422),
``limit`` (1..100 entries per list), ``format`` (``json`` | ``csv``; ``Accept: text/csv``
also selects CSV). Errors: 401 ``unauthorized``, 403 ``forbidden`` (publishable key),
422 ``invalid_field``, 429 ``rate_limited`` (per tenant, with Retry-After).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Literal

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response

from cosession.admin.api import _tenant as admin_tenant
from cosession.http.endpoint import SECRET_KEY, Endpoint, endpoint
from cosession.http.errors import ApiError
from cosession.http.inputs import BodyReader
from cosession.http.ratelimit import AddressLimiter, retry_after
from cosession.services import Services
from cosession.tenants.auth import TenantAuthError, tenant_key
from cosession.trends.aggregate import Trends
from cosession.trends.source import tenant_trends, window
from cosession.trends.tables import to_csv
from cosession.trends.tenant_k import MAX_K, effective_k, set_tenant_k, tenant_k


class TrendsQuery(msgspec.Struct, forbid_unknown_fields=True, rename={"first": "from", "last": "to"}):
    first: dt.date | None = None  # ISO date, UTC, inclusive
    last: dt.date | None = None
    k: Annotated[int, Meta(ge=1, le=1_000_000)] | None = None
    limit: Annotated[int, Meta(ge=1, le=100)] = 20
    format: Literal["json", "csv"] | None = None


class TrendsWindow(msgspec.Struct, rename={"first": "from", "last": "to"}):
    first: str
    last: str
    days: int
    truncated: bool  # more rooms than the server scans per query were created in the window


class TrendsResponse(msgspec.Struct):
    tenant: str
    window: TrendsWindow
    trends: Trends


def _limiter(request: Request, per_minute: int) -> AddressLimiter:
    limiter: AddressLimiter | None = getattr(request.app.state, "trends_limiter", None)
    if limiter is None:
        limiter = AddressLimiter(per_minute, max_addresses=10_000)
        request.app.state.trends_limiter = limiter
    return limiter


async def trends(request: Request, query: TrendsQuery) -> Response:
    services: Services = request.app.state.services
    key = await tenant_key(request, allow_publishable=False)
    if key is None:
        raise TenantAuthError(401, "unauthorized", "an Authorization: Bearer sk_... header is required")
    wait = _limiter(request, services.settings.trends_per_minute).take("tenant:" + key.tenant.id, time.monotonic())
    if wait > 0:
        raise ApiError(429, "rate_limited", "too many trends queries: retry later", {"retry-after": retry_after(wait)})
    floor = effective_k(services.settings.trends_min_group, await tenant_k(services.store, key.tenant.id))
    if query.k is not None and query.k < floor:
        raise ApiError(422, "invalid_field", f"k must be at least {floor} for this tenant on this server")
    try:
        first, last = (d.isoformat() if d is not None else None for d in (query.first, query.last))
        win = window(first, last, today=dt.datetime.now(dt.UTC).date())
    except ValueError as exc:
        raise ApiError(422, "invalid_field", f"bad window: {exc}") from None
    result, truncated = await tenant_trends(
        services.store,
        key.tenant.id,
        win,
        k=query.k or floor,
        limit=query.limit,
        max_rooms=services.settings.trends_max_rooms,
    )
    wants_csv = query.format == "csv" or (query.format is None and "text/csv" in request.headers.get("accept", ""))
    if wants_csv:
        filename = f"trends-{key.tenant.id}-{win.first}-{win.last}.csv"
        return Response(
            to_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{filename}"'},
        )
    body = TrendsResponse(
        tenant=key.tenant.id,
        window=TrendsWindow(first=win.first.isoformat(), last=win.last.isoformat(), days=win.days, truncated=truncated),
        trends=result,
    )
    return Response(msgspec.json.encode(body), media_type="application/json")


class TrendsSettings(msgspec.Struct, forbid_unknown_fields=True):
    min_group: Annotated[int, Meta(ge=1, le=MAX_K)]  # at least the server's floor


class TrendsSettingsState(msgspec.Struct):
    min_group: int | None  # the tenant's own k (null: none set)
    floor: int  # the server's trends_min_group: no k below it
    effective: int  # the k trends use when a query asks for no larger one


async def _settings_state(request: Request, tenant: str) -> TrendsSettingsState:
    services: Services = request.app.state.services
    own = await tenant_k(services.store, tenant)
    floor = services.settings.trends_min_group
    return TrendsSettingsState(min_group=own, floor=floor, effective=effective_k(floor, own))


async def get_trends_settings(request: Request) -> TrendsSettingsState:
    key = await admin_tenant(request)
    return await _settings_state(request, key.tenant.id)


async def put_trends_settings(request: Request, body: BodyReader[TrendsSettings]) -> TrendsSettingsState:
    key = await admin_tenant(request)
    data = await body.read()
    services: Services = request.app.state.services
    floor = services.settings.trends_min_group
    if data.min_group < floor:
        raise ApiError(422, "invalid_field", f"min_group must be at least {floor} on this server")
    await set_tenant_k(services.store, key.tenant.id, data.min_group)
    return await _settings_state(request, key.tenant.id)


async def delete_trends_settings(request: Request) -> TrendsSettingsState:
    key = await admin_tenant(request)
    services: Services = request.app.state.services
    await set_tenant_k(services.store, key.tenant.id, None)
    return await _settings_state(request, key.tenant.id)


_ADMIN: dict[int, tuple[str, ...]] = {401: ("unauthorized",), 403: ("forbidden",), 429: ("rate_limited",)}

endpoints: list[Endpoint] = [
    endpoint(
        "GET", "/v1/trends", trends, "The tenant's anonymous trends (JSON, or CSV with format=csv)",
        ok=TrendsResponse, query=TrendsQuery, auth=(SECRET_KEY,), text_types=("text/csv",), tag="trends",
        errors={401: ("unauthorized",), 403: ("forbidden",), 422: ("invalid_field",), 429: ("rate_limited",),
                503: ("unavailable",)},
        description="No figure describes fewer than k rooms or people (k at least the server's floor). "
        "The window (from..to, inclusive) must not be reversed nor longer than the server allows: "
        "else 422 `invalid_field` (bad window).",
    ),
    endpoint("GET", "/v1/admin/trends", get_trends_settings, "The tenant's minimum group size k for trends",
             ok=TrendsSettingsState, auth=(SECRET_KEY,), errors=_ADMIN, tag="admin"),
    endpoint("PUT", "/v1/admin/trends", put_trends_settings, "Raise the tenant's k (never below the server's)",
             ok=TrendsSettingsState, body=TrendsSettings, auth=(SECRET_KEY,), tag="admin",
             errors={**_ADMIN, 400: ("bad_json",), 413: ("too_large",), 422: ("invalid_field",)},
             description="min_group below the server's trends_min_group is 422 `invalid_field`."),
    endpoint("DELETE", "/v1/admin/trends", delete_trends_settings, "Back to the server's k", ok=TrendsSettingsState,
             auth=(SECRET_KEY,), errors=_ADMIN, tag="admin"),
]  # fmt: skip
routes = [e.route() for e in endpoints]
