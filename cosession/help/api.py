"""REST of the help queue (SPEC 21.3), each route declared for the OpenAPI document.

* ``POST /v1/tenant/associates`` / ``DELETE /v1/tenant/associates/{associate}`` — secret key:
  issue an associate's ``at_`` token / revoke it.
* ``GET /v1/associates/me``, ``GET /v1/associates/queue``, ``GET /v1/associates/queue/stream``
  (cosession/help/stream.py), ``POST /v1/associates/requests/{request}/claim`` and
  ``…/close`` — associate token.
* ``POST /v1/rooms/{room}/help/{request}/close`` — member token: the requester, the room's
  owner or the claiming associate closes the room's request.
* ``GET /v1/admin/help/stats`` — secret key: service figures without shopper identities.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from cosession.auth import new_id
from cosession.help import tokens
from cosession.help.auth import associate_of, help_service, limit
from cosession.help.figures import stats_for
from cosession.help.items import (
    AssociateMe,
    Claimed,
    ClosedRequest,
    CreateAssociate,
    CreatedAssociate,
    HelpStatsOut,
    QueuePage,
    RoomHelpClosed,
    StatsQuery,
    StreamQuery,
    parse_request_id,
    queue_item,
    visible,
)
from cosession.help.queue_store import Associate, now_ms
from cosession.help.stream import queue_stream
from cosession.http.api import _member, _services
from cosession.http.endpoint import ASSOCIATE_TOKEN, MEMBER_TOKEN, SECRET_KEY, Endpoint, endpoint
from cosession.http.errors import ApiError
from cosession.http.inputs import BodyReader
from cosession.http.ratelimit import AddressLimiter
from cosession.retail.api import _secret_key
from protocol.errors import ErrorCode
from protocol.messages import HelpClaim, HelpClose
from protocol.reducer import find_help

QUEUE_LIMIT = 500
_limiters: dict[int, AddressLimiter] = {}


def _limiter(request: Request) -> AddressLimiter:
    per_minute = _services(request).settings.help_claims_per_minute
    found = _limiters.get(id(request.app))
    if found is None:
        found = _limiters[id(request.app)] = AddressLimiter(per_minute)
    return found


async def create_associate(request: Request, body: BodyReader[CreateAssociate]) -> CreatedAssociate:
    key = await _secret_key(request)
    data = await body.read()
    service = help_service(request)
    associate = Associate(
        id=new_id("as"),
        tenant=key.tenant.id,
        name=data.name,
        stores=list(data.stores),
        created_at=now_ms(),
        revoked=False,
    )
    await service.store.create_associate(associate)
    token = tokens.issue(service.services.settings.secret, associate.id)
    return CreatedAssociate(associate=associate.id, token=token, name=associate.name, stores=associate.stores)


async def delete_associate(request: Request) -> Response:
    key = await _secret_key(request)
    if not await help_service(request).store.revoke_associate(key.tenant.id, request.path_params["associate"]):
        raise ApiError(404, "associate_not_found", "no such associate for this tenant")
    return Response(status_code=204)


async def me(request: Request) -> AssociateMe:
    a = await associate_of(request)
    return AssociateMe(associate=a.id, tenant=a.tenant, name=a.name, stores=a.stores)


async def queue(request: Request) -> QueuePage:
    a = await associate_of(request)
    rows, cursor = await help_service(request).store.queue(a.tenant, QUEUE_LIMIT)
    return QueuePage(requests=[queue_item(r) for r in rows if visible(a.stores, r)], cursor=str(cursor))


def _request_id(request: Request) -> tuple[str, int]:
    parsed = parse_request_id(request.path_params["request"])
    if parsed is None:
        raise ApiError(404, "request_not_found", "a request id is <room>:<seq>")
    return parsed


async def claim(request: Request) -> Claimed:
    a = await associate_of(request)
    room_id, seq = _request_id(request)
    limit(_limiter(request), a.id)
    service = help_service(request)
    row = await service.store.request(a.tenant, room_id, seq)
    if row is None or not visible(a.stores, row):
        raise ApiError(404, "request_not_found", "no such help request in this tenant's queue")
    outcome, row = await service.claim(a, room_id, seq)
    if outcome in ("taken", "closed") or row is None:
        code = "already_claimed" if outcome == "taken" else "request_closed"
        raise ApiError(409, code, f"this help request is {'taken' if outcome == 'taken' else 'closed'}")
    rejection = await service.room_op(room_id, f"help:claim:{seq}", HelpClaim(request=seq, associate=a.id, name=a.name))
    if rejection is not None and rejection.code == ErrorCode.UNAVAILABLE:
        raise ApiError(503, "unavailable", "the room cannot take the claim right now: claim again")
    if rejection is not None and rejection.code in (ErrorCode.ROOM_CLOSED, ErrorCode.ROOM_NOT_FOUND):
        await service.close(a.tenant, room_id, seq, None)
        raise ApiError(410, "room_closed", "the room of this request was closed")
    settings = service.services.settings
    token = _services(request).signer.issue(
        room=room_id, member=a.id, role="associate", name=a.name, ttl=settings.token_ttl
    )
    return Claimed(
        request=queue_item(row), room=room_id, member=a.id, role="associate", token=token, ws_url=settings.ws_url
    )


async def close(request: Request) -> ClosedRequest:
    a = await associate_of(request)
    room_id, seq = _request_id(request)
    limit(_limiter(request), a.id)
    service = help_service(request)
    outcome, row = await service.close(a.tenant, room_id, seq, a.id)
    if row is None:
        raise ApiError(404, "request_not_found", "no such help request in this tenant's queue")
    if outcome == "not_yours":
        raise ApiError(403, "not_yours", "another associate holds this request")
    rejection = await service.room_op(room_id, f"help:close:{seq}", HelpClose(request=seq, by=a.id))
    if rejection is not None and rejection.code == ErrorCode.UNAVAILABLE:
        raise ApiError(503, "unavailable", "the room cannot take the close right now: close again")
    return ClosedRequest(request=queue_item(row))


async def member_close(request: Request) -> RoomHelpClosed:
    services = _services(request)
    room_id = request.path_params["room"]
    claims, room = await _member(request, services, room_id)
    text = request.path_params["request"]
    if not text.isdigit() or len(text) > 16:
        raise ApiError(404, "request_not_found", "no such help request in this room")
    seq = int(text)
    item = find_help(room.state, seq)
    if item is None:
        raise ApiError(404, "request_not_found", "no such help request in this room")
    info = room.state.members.get(claims.member)
    allowed = claims.member in (item.by, room.state.owner, item.associate)
    if info is None or info.role == "viewer" or not allowed:
        raise ApiError(403, "forbidden", "only the requester, the room's owner or the helping associate can close it")
    service = help_service(request)
    if room.tenant:
        await service.close(room.tenant, room_id, seq, None)
    rejection = await service.room_op(room_id, f"help:close:{seq}", HelpClose(request=seq, by=claims.member))
    if rejection is not None and rejection.code == ErrorCode.UNAVAILABLE:
        raise ApiError(503, "unavailable", "the room cannot take the close right now: retry")
    return RoomHelpClosed(room=room_id, request=seq, state="closed")


async def help_stats(request: Request, query: StatsQuery) -> HelpStatsOut:
    key = await _secret_key(request)
    since = int(time.time() * 1000) - query.days * 86_400_000
    rows = await help_service(request).store.rows_for_stats(key.tenant.id, since)
    return stats_for(key.tenant.id, since, rows)


H = "help"
_SK = {401: ("unauthorized",), 403: ("forbidden",), 503: ("unavailable",)}
_AT = {401: ("unauthorized", "token_revoked"), 403: ("wrong_token", "forbidden"), 503: ("unavailable",)}
_BODY = {400: ("bad_json",), 413: ("too_large",), 422: ("invalid_field",)}

endpoints: list[Endpoint] = [
    endpoint("POST", "/v1/tenant/associates", create_associate, "Issue a store associate's login token (at_...)",
             ok=CreatedAssociate, status=201, body=CreateAssociate, auth=(SECRET_KEY,), tag=H, errors={**_SK, **_BODY}),
    endpoint("DELETE", "/v1/tenant/associates/{associate}", delete_associate, "Revoke an associate and its token",
             ok=None, status=204, auth=(SECRET_KEY,), tag=H, errors={**_SK, 404: ("associate_not_found",)}),
    endpoint("GET", "/v1/associates/me", me, "The associate the token names", ok=AssociateMe,
             auth=(ASSOCIATE_TOKEN,), tag=H, errors=_AT),
    endpoint("GET", "/v1/associates/queue", queue, "The tenant's open and claimed help requests, oldest first",
             ok=QueuePage, auth=(ASSOCIATE_TOKEN,), tag=H, errors=_AT),
    endpoint("GET", "/v1/associates/queue/stream", queue_stream, "The queue as Server-Sent Events",
             ok=None, query=StreamQuery, auth=(ASSOCIATE_TOKEN,), tag=H, text_types=("text/event-stream",),
             errors={**_AT, 422: ("invalid_field",), 429: ("too_many_streams",)}),
    endpoint("POST", "/v1/associates/requests/{request}/claim", claim, "Claim a help request (one associate wins)",
             ok=Claimed, auth=(ASSOCIATE_TOKEN,), tag=H,
             errors={**_AT, 404: ("request_not_found",), 409: ("already_claimed", "request_closed"),
                     410: ("room_closed",), 429: ("rate_limited",)}),
    endpoint("POST", "/v1/associates/requests/{request}/close", close, "Close a help request this associate holds",
             ok=ClosedRequest, auth=(ASSOCIATE_TOKEN,), tag=H,
             errors={**_AT, 403: ("wrong_token", "not_yours"), 404: ("request_not_found",), 429: ("rate_limited",)}),
    endpoint("POST", "/v1/rooms/{room}/help/{request}/close", member_close, "Close the room's help request",
             ok=RoomHelpClosed, auth=(MEMBER_TOKEN,), tag=H,
             errors={401: ("unauthorized", "token_expired"), 403: ("forbidden", "kicked"),
                     404: ("request_not_found", "room_not_found"), 503: ("unavailable",)}),
    endpoint("GET", "/v1/admin/help/stats", help_stats, "Help service figures by store, department and associate",
             ok=HelpStatsOut, query=StatsQuery, auth=(SECRET_KEY,), tag=H, errors={**_SK, 422: ("invalid_field",)}),
]  # fmt: skip
routes = [e.route() for e in endpoints]
