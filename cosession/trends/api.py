"""``GET /v1/trends``: a tenant's anonymous trends as JSON or CSV (secret key only).

Query: ``from`` / ``to`` (ISO dates, UTC, inclusive; default the last 30 days),
``k`` (at least the server's ``trends_min_group``; asking more is allowed, less is 422),
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
from starlette.routing import Route

from cosession.http.api import ApiError
from cosession.http.ratelimit import AddressLimiter, retry_after
from cosession.services import Services
from cosession.tenants.auth import TenantAuthError, tenant_key
from cosession.trends.aggregate import Trends
from cosession.trends.source import tenant_trends, window
from cosession.trends.tables import to_csv

IsoDate = Annotated[str, Meta(pattern=r"^\d{4}-\d{2}-\d{2}$")]


class TrendsQuery(msgspec.Struct, forbid_unknown_fields=True, rename={"first": "from", "last": "to"}):
    first: IsoDate | None = None
    last: IsoDate | None = None
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


def _query(request: Request) -> TrendsQuery:
    try:
        return msgspec.convert(dict(request.query_params), TrendsQuery, strict=False)
    except msgspec.ValidationError as exc:
        raise ApiError(422, "invalid_field", str(exc)) from None


def _limiter(request: Request, per_minute: int) -> AddressLimiter:
    limiter: AddressLimiter | None = getattr(request.app.state, "trends_limiter", None)
    if limiter is None:
        limiter = AddressLimiter(per_minute, max_addresses=10_000)
        request.app.state.trends_limiter = limiter
    return limiter


async def trends(request: Request) -> Response:
    services: Services = request.app.state.services
    key = await tenant_key(request, allow_publishable=False)
    if key is None:
        raise TenantAuthError(401, "unauthorized", "an Authorization: Bearer sk_... header is required")
    wait = _limiter(request, services.settings.trends_per_minute).take("tenant:" + key.tenant.id, time.monotonic())
    if wait > 0:
        raise ApiError(429, "rate_limited", "too many trends queries: retry later", {"retry-after": retry_after(wait)})
    query = _query(request)
    floor = services.settings.trends_min_group
    if query.k is not None and query.k < floor:
        raise ApiError(422, "invalid_field", f"k must be at least {floor} on this server")
    try:
        win = window(query.first, query.last, today=dt.datetime.now(dt.UTC).date())
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


routes = [Route("/v1/trends", trends, methods=["GET"])]
