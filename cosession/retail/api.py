"""REST for retailers: fetch and verify a checkout, the checkout key, the catalog URL.

* ``GET /v1/checkouts/{id}`` — a secret key of the room's tenant, or a member token of the
  room (rooms without a tenant) → ``{checkout, seq, valid, expired}``; 404
  ``checkout_not_found`` when the room does not hold it (any more).
* ``GET /v1/tenant/checkout-key`` — secret key → ``{tenant, alg, key}``.
* ``GET|PUT /v1/tenant/catalog`` — secret key; PUT ``{url: str | null}`` (null clears).

Each is declared with the endpoint layer (``cosession/http/endpoint.py``) so the OpenAPI
document describes it from these structs.
"""

from __future__ import annotations

import time
from typing import Literal

import msgspec
from starlette.requests import Request

from cosession.http.api import ApiError, _member, _room, _services
from cosession.http.endpoint import MEMBER_TOKEN, SECRET_KEY, Endpoint, endpoint
from cosession.http.inputs import BodyReader
from cosession.retail.catalog_store import CatalogUrlError
from cosession.retail.checkout import room_of, snapshot_dict
from cosession.retail.service import Retail
from cosession.retail.signing import verify
from cosession.rooms.room import Room, now_ms
from cosession.store.store import Store
from cosession.tenants.auth import TenantAuthError, TenantKey, require_tenant_room, tenant_key
from protocol.messages import CheckoutStart, Event


class CatalogBody(msgspec.Struct, forbid_unknown_fields=True):
    url: str | None


class CheckoutView(msgspec.Struct):
    """A checkout snapshot exactly as signed (``sig`` verifies per docs/checkout.md)."""

    checkout: CheckoutStart
    seq: int
    valid: bool  # the signature verifies and it has not expired
    expired: bool


class CheckoutKey(msgspec.Struct):
    tenant: str
    alg: Literal["HMAC-SHA256"]
    key: str


class BreakerOut(msgspec.Struct):
    state: Literal["closed", "open", "half_open"]
    failures: int


class CatalogOut(msgspec.Struct, omit_defaults=True):
    tenant: str
    url: str | None
    breaker: BreakerOut | None = None  # this node's breaker for the url (each node has its own)


def _retail(request: Request) -> Retail:
    retail = _services(request).retail
    if retail is None:  # pragma: no cover - the app always wires it
        raise ApiError(503, "unavailable", "retail features are not configured")
    return retail


async def _secret_key(request: Request) -> TenantKey:
    key = await tenant_key(request, allow_publishable=False)
    if key is None:
        raise TenantAuthError(401, "unauthorized", "an Authorization: Bearer sk_... header is required")
    return key


async def _checkout_event(store: Store, room: Room, seq: int) -> Event | None:
    for event in reversed(room.history):
        if event.seq == seq:
            return event
    found = await store.events_after(room.id, seq - 1, 1)
    return found[0] if found and found[0].seq == seq else None


async def get_checkout(request: Request) -> CheckoutView:
    services = _services(request)
    checkout_id = request.path_params["checkout"]
    room_id = room_of(checkout_id)
    not_found = ApiError(404, "checkout_not_found", "no such checkout")
    if room_id is None or len(checkout_id) > 128:
        raise not_found
    key = await tenant_key(request, allow_publishable=False)
    if key is not None:
        await require_tenant_room(request, key, room_id)
        room = await _room(services, room_id)
    else:
        _, room = await _member(request, services, room_id)
    record = next((c for c in room.committed.checkouts if c.id == checkout_id), None)
    if record is None:
        raise not_found
    event = await _checkout_event(services.store, room, record.seq)
    if event is None or not isinstance(event.op, CheckoutStart):
        raise not_found
    expired = event.op.expires_at <= now_ms()
    valid = verify(_retail(request).key_for(room.tenant), snapshot_dict(event.op)) and not expired
    return CheckoutView(checkout=event.op, seq=event.seq, valid=valid, expired=expired)


async def checkout_key(request: Request) -> CheckoutKey:
    key = await _secret_key(request)
    return CheckoutKey(tenant=key.tenant.id, alg="HMAC-SHA256", key=_retail(request).key_for(key.tenant.id))


async def _catalog_out(request: Request, tenant: str) -> CatalogOut:
    settings = _retail(request).settings
    if settings is None:  # pragma: no cover
        raise ApiError(503, "unavailable", "catalog settings are not configured")
    url = await settings.get(tenant, fresh=True)
    if url is None:
        return CatalogOut(tenant=tenant, url=None)
    breaker = _retail(request).catalog.breaker(url)
    return CatalogOut(tenant=tenant, url=url, breaker=BreakerOut(breaker.state(time.monotonic()), breaker.failures))


async def get_catalog(request: Request) -> CatalogOut:
    key = await _secret_key(request)
    return await _catalog_out(request, key.tenant.id)


async def put_catalog(request: Request, body: BodyReader[CatalogBody]) -> CatalogOut:
    key = await _secret_key(request)
    data = await body.read()
    settings = _retail(request).settings
    if settings is None:  # pragma: no cover
        raise ApiError(503, "unavailable", "catalog settings are not configured")
    try:
        await settings.set(key.tenant.id, data.url)
    except CatalogUrlError as exc:
        raise ApiError(422, "invalid_field", str(exc)) from None
    return await _catalog_out(request, key.tenant.id)


_AUTH: dict[int, tuple[str, ...]] = {401: ("unauthorized",), 403: ("forbidden",), 503: ("unavailable",)}
R = "retail"

endpoints: list[Endpoint] = [
    endpoint("GET", "/v1/checkouts/{checkout}", get_checkout, "Fetch and verify a checkout snapshot",
             ok=CheckoutView, auth=(SECRET_KEY, MEMBER_TOKEN), tag=R,
             errors={**_AUTH, 401: ("unauthorized", "token_expired"), 403: ("forbidden", "kicked"),
                     404: ("checkout_not_found", "room_not_found")}),
    endpoint("GET", "/v1/tenant/checkout-key", checkout_key, "The tenant's checkout signing key", ok=CheckoutKey,
             auth=(SECRET_KEY,), errors=_AUTH, tag=R),
    endpoint("GET", "/v1/tenant/catalog", get_catalog, "The tenant's catalog endpoint and this node's breaker",
             ok=CatalogOut, auth=(SECRET_KEY,), errors=_AUTH, tag=R),
    endpoint("PUT", "/v1/tenant/catalog", put_catalog, "Set or clear (null) the tenant's catalog endpoint",
             ok=CatalogOut, body=CatalogBody, auth=(SECRET_KEY,), tag=R,
             errors={**_AUTH, 400: ("bad_json",), 413: ("too_large",), 422: ("invalid_field",)}),
]  # fmt: skip
routes = [e.route() for e in endpoints]
