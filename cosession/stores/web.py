"""The pages a store's QR code opens (SPEC §20.2): ``/s/{tenant}/{store}``.

``GET`` renders the room page's join form (``?d=`` department, ``?i=`` an invite code of
an existing room of the tenant). Nothing is created by a GET (link previews and
prefetchers follow QR URLs): the form's submit, ``POST /s/{tenant}/{store}/join
{name, department?, invite?}``, creates the room in the store — its ``room.create``
carries the store context — or accepts the invite, and answers a member token whose
claims say ``in_store`` (presence shows the member in the store). New rooms are limited
per client address like anonymous ``POST /v1/rooms``.
"""

from __future__ import annotations

import re
from typing import Annotated

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from cosession.auth import new_id
from cosession.http.api import _limit, _new_invite, _services, accept_code
from cosession.http.errors import ApiError, error_response
from cosession.http.inputs import read_body
from cosession.stores.directory import STORE_ID, DepartmentName, StoreDirectory, StoreInfo
from cosession.tenants.store import TenantStore
from cosession.web.room_page import page_html, pick_locale
from cosession.web.routes import _PAGE_CSP, _page, assets
from protocol.messages import StoreContext

Name = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[^\x00]*$")]
INVITE = r"^[A-Za-z0-9_-]{1,64}$"


class JoinInStore(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    department: DepartmentName | None = None
    invite: Annotated[str, Meta(min_length=1, max_length=64, pattern=INVITE)] | None = None


class InStoreToken(msgspec.Struct):
    room: str
    member: str
    role: str
    token: str
    ws_url: str
    invite: str  # a member invite code of the room, for the share link (/r/<code>)
    store: StoreContext


async def _store(request: Request) -> tuple[str, StoreInfo] | None:
    tenant: str = request.path_params["tenant"]
    store: str = request.path_params["store"]
    if len(tenant) > 64 or not re.fullmatch(STORE_ID, store) or "\x00" in tenant:
        return None
    tenants: TenantStore = request.app.state.tenants
    found = await StoreDirectory(tenants).get(tenant, store)
    return None if found is None else (tenant, found)


async def store_page(request: Request) -> Response:
    found = await _store(request)
    if found is None:
        return _page("Store not found", "<h1>This QR code is not valid any more.</h1><p>Ask in the store.</p>", 404)
    tenant, info = found
    department = request.query_params.get("d") or None
    if department is not None and department not in info.departments:
        department = None  # a department renamed since printing: the store still works
    invite = request.query_params.get("i") or None
    if invite is not None and not re.fullmatch(INVITE, invite):
        invite = None
    locale = pick_locale(request.query_params.get("lang"), request.headers.get("accept-language"))
    script = assets().url("room.js") if assets().get("room.js") is not None else ""
    if not script:
        return _page(info.name, "<h1>The room page is not built on this server.</h1>", 503)
    attrs = {
        "data-store-join": f"/s/{tenant}/{info.store}/join",
        "data-store": info.store,
        "data-store-name": info.name,
        "data-department": department or "",
    }
    title = info.name + (f", {department}" if department else "")
    body = page_html(locale=locale, code=invite or "", room_name=title, script_url=script, extra=attrs)
    host = request.headers.get("host", "")
    ws = f"ws://{host} wss://{host}" if host else ""
    return HTMLResponse(
        body,
        headers={
            "content-security-policy": _PAGE_CSP.format(ws=ws),
            "referrer-policy": "no-referrer",
            "cache-control": "no-store",
            "content-language": locale,
            "vary": "Accept-Language",
            "x-content-type-options": "nosniff",
        },
    )


async def store_join(request: Request) -> Response:
    try:
        return await _join(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.headers)


async def _join(request: Request) -> Response:
    services = _services(request)
    found = await _store(request)
    if found is None:
        raise ApiError(404, "store_not_found", "no such store")
    tenant, info = found
    data = await read_body(request, JoinInStore)
    if data.department is not None and data.department not in info.departments:
        raise ApiError(422, "invalid_field", "the store has no such department")
    context = StoreContext(store=info.store, name=info.name, department=data.department)
    if data.invite is not None:
        _limit(request, services.rest_limits.accepts, "invite accepts")
        joined = await accept_code(services, data.invite, data.name, in_store=True, tenant=tenant)
        out = InStoreToken(
            room=joined.room,
            member=joined.member,
            role=joined.role,
            token=joined.token,
            ws_url=joined.ws_url,
            invite=data.invite,
            store=context,
        )
        return JSONResponse(msgspec.to_builtins(out), status_code=201)
    _limit(request, services.rest_limits.rooms, "new rooms")
    owner = new_id("m")
    room_name = info.name + (f", {data.department}" if data.department else "")
    room = await services.registry.create(room_name[:100], owner, data.name, tenant=tenant, store=context)
    token = services.signer.issue(
        room=room.id, member=owner, role="owner", name=data.name, ttl=services.settings.token_ttl, in_store=True
    )
    invite = await _new_invite(services, room.id, owner, "member", 7 * 24 * 3600, None)
    out = InStoreToken(
        room=room.id,
        member=owner,
        role="owner",
        token=token,
        ws_url=services.settings.ws_url,
        invite=invite.code,
        store=context,
    )
    return JSONResponse(msgspec.to_builtins(out), status_code=201)


routes = [
    Route("/s/{tenant}/{store}", store_page, methods=["GET"]),
    Route("/s/{tenant}/{store}/join", store_join, methods=["POST"]),
]
