"""Admin REST for a tenant's stores and their QR codes (secret key; SPEC §20.3).

* ``GET /v1/admin/stores`` → ``{stores: [Store]}``
* ``GET|PUT|DELETE /v1/admin/stores/{store}`` (PUT ``{name, departments?}``)
* ``GET /v1/admin/stores/{store}/qr?department=&format=svg|png&invite=`` → the image
* ``GET /v1/admin/stores/{store}/qr-sheet`` → a printable HTML page

Calls share the admin API's per-tenant bucket (429 ``rate_limited``).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from cosession.admin.api import _tenant
from cosession.http.api import _services
from cosession.http.endpoint import SECRET_KEY, Endpoint, endpoint
from cosession.http.errors import ApiError
from cosession.http.inputs import BodyReader
from cosession.stores.directory import (
    STORE_ID,
    DepartmentName,
    StoreDirectory,
    StoreInfo,
    StoreName,
    TooManyStores,
)
from cosession.stores.qr import qr_png, qr_sheet, qr_svg, store_url
from cosession.tenants.store import TenantStore

MAX_DEPARTMENTS = 50


class StoreBody(msgspec.Struct, forbid_unknown_fields=True):
    name: StoreName
    departments: Annotated[list[DepartmentName], Meta(max_length=MAX_DEPARTMENTS)] = []


class StoreList(msgspec.Struct):
    stores: list[StoreInfo]


class Deleted(msgspec.Struct):
    store: str
    deleted: bool


class QrQuery(msgspec.Struct, forbid_unknown_fields=True):
    department: DepartmentName | None = None
    format: Literal["svg", "png"] = "svg"
    invite: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] | None = None


def directory(request: Request) -> StoreDirectory:
    tenants: TenantStore = request.app.state.tenants
    return StoreDirectory(tenants)


def _store_id(request: Request, *, creating: bool = False) -> str:
    """The path's store id. No store has a malformed id: reading one is 404, creating one 422."""
    store: str = request.path_params["store"]
    if not re.fullmatch(STORE_ID, store):
        if creating:
            raise ApiError(
                422, "invalid_field", "bad store id: 1 to 64 of a-z 0-9 _ -, starting with a letter or digit"
            )
        raise ApiError(404, "store_not_found", "no such store for this tenant")
    return store


async def _existing(request: Request) -> tuple[str, StoreInfo]:
    key = await _tenant(request)
    found = await directory(request).get(key.tenant.id, _store_id(request))
    if found is None:
        raise ApiError(404, "store_not_found", "no such store for this tenant")
    return key.tenant.id, found


async def list_stores(request: Request) -> StoreList:
    key = await _tenant(request)
    return StoreList(stores=await directory(request).all(key.tenant.id))


async def get_store(request: Request) -> StoreInfo:
    return (await _existing(request))[1]


async def put_store(request: Request, body: BodyReader[StoreBody]) -> StoreInfo:
    key = await _tenant(request)
    store = _store_id(request, creating=True)
    data = await body.read()
    departments = list(dict.fromkeys(d.strip() for d in data.departments if d.strip()))
    if not data.name.strip():
        raise ApiError(422, "invalid_field", "the store's name is empty")
    try:
        info, _ = await directory(request).put(key.tenant.id, store, data.name.strip(), departments)
    except TooManyStores as exc:
        raise ApiError(409, "too_many_stores", str(exc)) from None
    return info


async def delete_store(request: Request) -> Deleted:
    key = await _tenant(request)
    store = _store_id(request)
    if not await directory(request).delete(key.tenant.id, store):
        raise ApiError(404, "store_not_found", "no such store for this tenant")
    return Deleted(store=store, deleted=True)


async def store_qr(request: Request, query: QrQuery) -> Response:
    tenant, info = await _existing(request)
    if query.department is not None and query.department not in info.departments:
        raise ApiError(422, "invalid_field", "the store has no such department")
    url = store_url(_services(request).settings.base_url, tenant, info.store, query.department, query.invite)
    headers = {"cache-control": "no-store", "x-content-type-options": "nosniff"}
    if query.format == "png":
        return Response(qr_png(url), media_type="image/png", headers=headers)
    return Response(qr_svg(url), media_type="image/svg+xml", headers=headers)


async def store_qr_sheet(request: Request) -> Response:
    tenant, info = await _existing(request)
    page = qr_sheet(_services(request).settings.base_url, tenant, info)
    return HTMLResponse(page, headers={"cache-control": "no-store", "x-content-type-options": "nosniff"})


_AUTH: dict[int, tuple[str, ...]] = {401: ("unauthorized",), 403: ("forbidden",), 429: ("rate_limited",)}
_ONE: dict[int, tuple[str, ...]] = {**_AUTH, 404: ("store_not_found",)}
S = "stores"

endpoints: list[Endpoint] = [
    endpoint("GET", "/v1/admin/stores", list_stores, "List the tenant's stores", ok=StoreList, auth=(SECRET_KEY,),
             errors=_AUTH, tag=S),
    endpoint("GET", "/v1/admin/stores/{store}", get_store, "Read a store", ok=StoreInfo, auth=(SECRET_KEY,),
             errors=_ONE, tag=S),
    endpoint("PUT", "/v1/admin/stores/{store}", put_store, "Create or replace a store and its departments",
             ok=StoreInfo, body=StoreBody, auth=(SECRET_KEY,), tag=S,
             errors={**_AUTH, 400: ("bad_json",), 409: ("too_many_stores",), 413: ("too_large",),
                     422: ("invalid_field",)}),
    endpoint("DELETE", "/v1/admin/stores/{store}", delete_store, "Delete a store (rooms keep their context)",
             ok=Deleted, auth=(SECRET_KEY,), errors=_ONE, tag=S),
    endpoint("GET", "/v1/admin/stores/{store}/qr", store_qr, "A printable QR code that opens a room in the store",
             ok=None, query=QrQuery, auth=(SECRET_KEY,), errors={**_ONE, 422: ("invalid_field",)}, tag=S,
             text_types=("image/svg+xml", "image/png")),
    endpoint("GET", "/v1/admin/stores/{store}/qr-sheet", store_qr_sheet,
             "A print sheet: the store's QR codes, one per department", ok=None, auth=(SECRET_KEY,), errors=_ONE,
             tag=S, text_types=("text/html",)),
]  # fmt: skip
routes = [e.route() for e in endpoints]
