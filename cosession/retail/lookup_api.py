"""REST lookups in the catalog: a scanned code, or a search (SPEC §20, docs/checkout.md).

* ``GET /v1/catalog/lookup?code=`` → ``{products: [Product]}`` (404 ``product_not_found``)
* ``GET /v1/catalog/search?q=&limit=`` → ``{products: [Product]}``

The caller is a member of a room (member token; later also an associate token of a
tenant, see ``catalog_caller``). The catalog is the tenant's endpoint when one is
configured (bounded calls with its breaker; 503 ``catalog_unavailable`` when it fails),
else the built-in demo catalog. Each caller has a token bucket (429 ``rate_limited``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

import msgspec
from msgspec import Meta
from starlette.requests import Request

from cosession.http.api import ApiError, _bearer, _kicked, _room, _services
from cosession.http.endpoint import ASSOCIATE_TOKEN, MEMBER_TOKEN, Endpoint, endpoint
from cosession.http.ratelimit import retry_after
from cosession.retail import demo_catalog
from cosession.retail.catalog import CatalogUnavailable
from cosession.retail.demo_catalog import MAX_CODE_CHARS, CodeError, normalize_code
from cosession.retail.service import Retail
from protocol.messages import Product

MAX_SEARCH_RESULTS = 50
NO_CONTROLS = r"^[^\x00-\x1f\x7f]*$"


class LookupQuery(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, Meta(min_length=1, max_length=MAX_CODE_CHARS, pattern=NO_CONTROLS)]


class SearchQuery(msgspec.Struct, forbid_unknown_fields=True):
    q: Annotated[str, Meta(max_length=100, pattern=NO_CONTROLS)] = ""
    limit: Annotated[int, Meta(ge=1, le=MAX_SEARCH_RESULTS)] = 20


class ProductList(msgspec.Struct):
    products: list[Product]


@dataclass(frozen=True)
class CatalogCaller:
    tenant: str | None  # None: a room without a tenant (the demo catalog)
    key: str  # whose token bucket the call takes from


async def catalog_caller(request: Request) -> CatalogCaller:
    """Who asks. A member token: its room's tenant, the member's bucket. An associate
    token (``at_``, SPEC 21): its tenant, the associate's bucket (the console searches the
    catalog before it is in any room)."""
    from cosession.help.auth import associate_of  # the help queue imports retail: no cycle at import
    from cosession.help.tokens import PREFIX as ASSOCIATE_PREFIX

    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip().startswith(ASSOCIATE_PREFIX):
        associate = await associate_of(request, token.strip())
        return CatalogCaller(tenant=associate.tenant, key=f"a:{associate.id}")
    services = _services(request)
    claims = _bearer(request, services)
    room = await _room(services, claims.room)
    if _kicked(room, claims.member):
        raise ApiError(403, "kicked", "you were removed from this room")
    return CatalogCaller(tenant=room.tenant, key=f"m:{claims.room}:{claims.member}")


def _retail(request: Request) -> Retail:
    retail = _services(request).retail
    if retail is None:  # pragma: no cover - the app always wires it
        raise ApiError(503, "unavailable", "retail features are not configured")
    return retail


async def _caller(request: Request) -> tuple[CatalogCaller, Retail, str | None]:
    """The caller (rate limited), the retail extension and the tenant's catalog URL (or None)."""
    caller = await catalog_caller(request)
    retail = _retail(request)
    _limit_caller(retail, caller)
    url = None
    if caller.tenant is not None and retail.settings is not None:
        try:
            url = await retail.settings.get(caller.tenant)
        except Exception:  # the database is away
            raise ApiError(503, "unavailable", "the catalog settings cannot be read now: retry later") from None
    return caller, retail, url


def _limit_caller(retail: Retail, caller: CatalogCaller) -> None:
    wait = retail.lookup_limit.take(caller.key, time.monotonic())
    if wait > 0:
        raise ApiError(
            429, "rate_limited", "too many catalog lookups: retry later", headers={"retry-after": retry_after(wait)}
        )


def _unavailable() -> ApiError:
    return ApiError(503, "catalog_unavailable", "the shop's catalog does not answer now: retry later")


async def lookup(request: Request, query: LookupQuery) -> ProductList:
    caller, retail, url = await _caller(request)
    try:
        code = normalize_code(query.code)
    except CodeError as exc:
        raise ApiError(422, "invalid_field", f"bad code: {exc}") from None
    if url is None:
        found = demo_catalog.lookup(code)
        products = [found] if found is not None else []
    else:
        try:
            products = await retail.catalog.lookup(url, tenant=caller.tenant or "", code=code)
        except CatalogUnavailable:
            raise _unavailable() from None
    if not products:
        raise ApiError(404, "product_not_found", "no product has this code")
    return ProductList(products=products)


async def search(request: Request, query: SearchQuery) -> ProductList:
    caller, retail, url = await _caller(request)
    if url is None:
        return ProductList(products=demo_catalog.search(query.q, query.limit))
    try:
        products = await retail.catalog.search(
            url, tenant=caller.tenant or "", query=query.q.strip(), limit=query.limit
        )
    except CatalogUnavailable:
        raise _unavailable() from None
    return ProductList(products=products)


_ERRORS: dict[int, tuple[str, ...]] = {
    401: ("unauthorized", "token_expired"),
    403: ("kicked",),
    404: ("room_not_found",),
    422: ("invalid_field",),
    429: ("rate_limited",),
    503: ("unavailable", "catalog_unavailable"),
}
C = "catalog"

endpoints: list[Endpoint] = [
    endpoint("GET", "/v1/catalog/lookup", lookup, "Look a scanned code up in the catalog", ok=ProductList,
             query=LookupQuery, auth=(MEMBER_TOKEN, ASSOCIATE_TOKEN), tag=C,
             errors={**_ERRORS, 404: ("product_not_found", "room_not_found")}),
    endpoint("GET", "/v1/catalog/search", search, "Search the catalog", ok=ProductList, query=SearchQuery,
             auth=(MEMBER_TOKEN, ASSOCIATE_TOKEN), tag=C, errors=_ERRORS),
]  # fmt: skip
routes = [e.route() for e in endpoints]
