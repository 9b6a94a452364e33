"""REST for retailers: fetch and verify a checkout, the checkout key, the catalog URL.

* ``GET /v1/checkouts/{id}`` — a secret key of the room's tenant, or a member token of the
  room (rooms without a tenant) → ``{checkout, seq, valid, expired}``; 404
  ``checkout_not_found`` when the room does not hold it (any more).
* ``GET /v1/tenant/checkout-key`` — secret key → ``{tenant, alg, key}``.
* ``GET|PUT /v1/tenant/catalog`` — secret key; PUT ``{url: str | null}`` (null clears).
"""

from __future__ import annotations

import time

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cosession.http.api import ApiError, _body, _member, _room, _services
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


async def get_checkout(request: Request) -> Response:
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
    snapshot = snapshot_dict(event.op)
    expired = event.op.expires_at <= now_ms()
    valid = verify(_retail(request).key_for(room.tenant), snapshot) and not expired
    return JSONResponse({"checkout": snapshot, "seq": event.seq, "valid": valid, "expired": expired})


async def checkout_key(request: Request) -> Response:
    key = await _secret_key(request)
    return JSONResponse({"tenant": key.tenant.id, "alg": "HMAC-SHA256", "key": _retail(request).key_for(key.tenant.id)})


async def catalog(request: Request) -> Response:
    key = await _secret_key(request)
    settings = _retail(request).settings
    if settings is None:  # pragma: no cover
        raise ApiError(503, "unavailable", "catalog settings are not configured")
    if request.method == "PUT":
        body = await _body(request, CatalogBody)
        try:
            await settings.set(key.tenant.id, body.url)
        except CatalogUrlError as exc:
            raise ApiError(422, "invalid_field", str(exc)) from None
    url = await settings.get(key.tenant.id, fresh=True)
    out: dict[str, object] = {"tenant": key.tenant.id, "url": url}
    if url is not None:  # this node's breaker for it (each node has its own)
        breaker = _retail(request).catalog.breaker(url)
        out["breaker"] = {"state": breaker.state(time.monotonic()), "failures": breaker.failures}
    return JSONResponse(out)


routes = [
    Route("/v1/checkouts/{checkout}", get_checkout, methods=["GET"]),
    Route("/v1/tenant/checkout-key", checkout_key, methods=["GET"]),
    Route("/v1/tenant/catalog", catalog, methods=["GET", "PUT"]),
]
