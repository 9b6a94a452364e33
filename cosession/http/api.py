"""REST under ``/v1``: rooms, invites, member tokens, snapshots; plus health and metrics.

Request bodies are msgspec structs (validated on decode); every error is JSON
``{"error": {"code": ..., "message": ...}}`` with a stable code.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any, Literal, TypeVar

import msgspec
import structlog
from msgspec import Meta
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cosession.auth import Claims, TokenError, new_id
from cosession.http.endpoint import MEMBER_TOKEN, NONE, PUBLISHABLE_KEY, SECRET_KEY, Endpoint, endpoint
from cosession.http.errors import ApiError, api_error_handler, error_response
from cosession.http.inputs import MAX_BODY_BYTES, BodyReader, read_body, read_capped
from cosession.http.ratelimit import AddressLimiter, retry_after
from cosession.hub.hub import HubUnavailable
from cosession.rooms.room import Room
from cosession.services import Services
from cosession.store.store import Invite, InviteError
from cosession.tenants.auth import TenantKey, require_tenant_room, tenant_key
from protocol.messages import RoomState

T = TypeVar("T")
log = structlog.get_logger("cosession.http")
PUBLISHABLE_INVITER = "pk:"  # Invite.created_by prefix of invites minted with a publishable key

# no U+0000 in any string (SPEC section 1): PostgreSQL text columns cannot hold it
Name = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[^\x00]*$")]


class CreateRoom(msgspec.Struct, forbid_unknown_fields=True):
    name: Name = "Shopping together"
    owner_name: Name = "Owner"


class CreateInvite(msgspec.Struct, forbid_unknown_fields=True):
    role: Literal["member", "associate", "viewer"] = "member"
    expires_in: Annotated[int, Meta(ge=60, le=90 * 24 * 3600)] | None = 7 * 24 * 3600
    max_uses: Annotated[int, Meta(ge=1, le=100_000)] | None = None


class AcceptInvite(msgspec.Struct, forbid_unknown_fields=True):
    name: Name


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


_read_capped = read_capped  # kept for callers of the old names
_body = read_body


def _bearer(request: Request, services: Services) -> Claims:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthorized", "an Authorization: Bearer <token> header is required")
    try:
        return services.signer.verify(token.strip())
    except TokenError as exc:
        raise ApiError(401, "token_expired" if exc.kind == "expired" else "unauthorized", str(exc)) from None


def _limit(request: Request, limiter: AddressLimiter, what: str) -> None:
    """429 ``rate_limited`` (with Retry-After) when this client address is over its allowance."""
    wait = limiter.take(request.client.host if request.client else None, time.monotonic())
    if wait > 0:
        raise ApiError(
            429,
            "rate_limited",
            f"too many {what} from this address: retry later",
            headers={"retry-after": retry_after(wait)},
        )


async def _room(services: Services, room_id: str) -> Room:
    """The loaded room; 404 when there is none, 503 when the cluster cannot load it now."""
    try:
        room = await services.registry.get(room_id)
    except HubUnavailable:
        raise ApiError(503, "unavailable", "the room cannot be loaded right now: retry later") from None
    if room is None:
        raise ApiError(404, "room_not_found", "no such room")
    services.registry.release(room)  # REST reads it now; idle rooms still leave memory later
    return room


def _kicked(room: Room, member: str) -> bool:
    return any((m := state.members.get(member)) is not None and m.kicked for state in (room.state, room.committed))


def _anyone_kicked(room: Room) -> bool:
    return any(m.kicked for m in room.state.members.values())


async def _member(request: Request, services: Services, room_id: str) -> tuple[Claims, Room]:
    """A member token for ``room_id`` whose member was not kicked (401 / 403 / 404)."""
    claims = _bearer(request, services)
    if claims.room != room_id:
        raise ApiError(403, "forbidden", "this token is for another room")
    room = await _room(services, room_id)
    if _kicked(room, claims.member):
        raise ApiError(403, "kicked", "you were removed from this room")
    return claims, room


def _invite_url(services: Services, code: str) -> str:
    return f"{services.settings.base_url}/r/{code}"


class InviteOut(msgspec.Struct):
    code: str
    url: str
    room: str
    role: str
    expires_at: int | None  # ms
    max_uses: int | None
    uses: int


class InviteInfo(InviteOut):
    name: str  # the room's name


class CreatedRoom(msgspec.Struct):
    room: str
    member: str
    role: Literal["owner"]
    token: str
    invite: InviteOut
    ws_url: str


class JoinToken(msgspec.Struct):
    room: str
    member: str
    role: Literal["member", "associate", "viewer"]
    token: str
    ws_url: str


class RoomSnapshot(msgspec.Struct):
    room: str
    epoch: str
    seq: int
    state: RoomState


def _invite_out(services: Services, invite: Invite) -> InviteOut:
    return InviteOut(
        code=invite.code,
        url=_invite_url(services, invite.code),
        room=invite.room_id,
        role=invite.role,
        expires_at=invite.expires_at,
        max_uses=invite.max_uses,
        uses=invite.uses,
    )


def _invite_json(services: Services, invite: Invite) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.to_builtins(_invite_out(services, invite))
    return out


def _refuse_closed(room: Room) -> None:
    """410 ``room_closed``: a closed room takes no invites and no new members."""
    if room.state.closed:
        raise ApiError(410, "room_closed", "this room was closed")


async def _new_invite(
    services: Services, room_id: str, created_by: str, role: str, expires_in: int | None, max_uses: int | None
) -> Invite:
    now = int(time.time() * 1000)
    invite = Invite(
        code=new_id("i", 12),
        room_id=room_id,
        role=role,
        created_by=created_by,
        created_at=now,
        expires_at=None if expires_in is None else now + expires_in * 1000,
        max_uses=max_uses,
        uses=0,
    )
    await services.store.create_invite(invite)
    return invite


async def create_room(request: Request, body: BodyReader[CreateRoom]) -> CreatedRoom:
    services = _services(request)
    key = await tenant_key(request, allow_publishable=True)
    if key is None and services.settings.require_tenant:
        raise ApiError(401, "unauthorized", "this server requires a tenant API key (Authorization: Bearer sk_/pk_...)")
    if key is None or key.kind == "publishable":  # a tenant's secret key is its server: not limited per address
        _limit(request, services.rest_limits.rooms, "new rooms")
    data = await body.read()
    owner = new_id("m")
    room = await services.registry.create(
        data.name, owner, data.owner_name, tenant=key.tenant.id if key is not None else None
    )
    token = services.signer.issue(
        room=room.id, member=owner, role="owner", name=data.owner_name, ttl=services.settings.token_ttl
    )
    invite = await _new_invite(services, room.id, owner, "member", 7 * 24 * 3600, None)
    return CreatedRoom(
        room=room.id,
        member=owner,
        role="owner",
        token=token,
        invite=_invite_out(services, invite),
        ws_url=services.settings.ws_url,
    )


async def create_invite(request: Request, body: BodyReader[CreateInvite]) -> InviteOut:
    services = _services(request)
    room_id = request.path_params["room"]
    key = await tenant_key(request, allow_publishable=True)
    if key is not None:
        return await _tenant_invite(request, services, key, room_id, body)
    claims, room = await _member(request, services, room_id)
    data = await body.read()
    if claims.role == "viewer":
        raise ApiError(403, "forbidden", "viewers cannot invite")
    if data.role == "associate" and claims.role != "owner":
        raise ApiError(403, "forbidden", "only the owner can invite a store associate")
    _refuse_closed(room)
    invite = await _new_invite(services, room_id, claims.member, data.role, data.expires_in, data.max_uses)
    return _invite_out(services, invite)


async def _tenant_invite(
    request: Request, services: Services, key: TenantKey, room_id: str, body: BodyReader[CreateInvite]
) -> InviteOut:
    """An invite made with a tenant key. The secret key may invite any role. The
    publishable key is public (an ``Origin`` header proves nothing): it may invite members
    only, is rate-limited per client address, and may not invite into a room someone was
    kicked from (so a kicked person cannot come back under a new id)."""
    await require_tenant_room(request, key, room_id)
    if key.kind == "secret":
        data = await body.read()
        _refuse_closed(await _room(services, room_id))
        invite = await _new_invite(
            services, room_id, f"tenant:{key.tenant.id}", data.role, data.expires_in, data.max_uses
        )
        return _invite_out(services, invite)
    _limit(request, services.rest_limits.pk_invites, "invites")
    data = await body.read()
    if data.role != "member":
        raise ApiError(403, "forbidden", "a publishable key invites members only (associates: the owner's token)")
    room = await _room(services, room_id)
    if _anyone_kicked(room):
        raise ApiError(403, "forbidden", "someone was removed from this room: invites need the owner's token")
    _refuse_closed(room)
    invite = await _new_invite(
        services, room_id, PUBLISHABLE_INVITER + key.tenant.id, data.role, data.expires_in, data.max_uses
    )
    return _invite_out(services, invite)


async def get_invite(request: Request) -> InviteInfo:
    services = _services(request)
    invite = await services.store.get_invite(request.path_params["code"])
    if invite is None:
        raise ApiError(404, "invite_not_found", "no such invite")
    room = await services.registry.get(invite.room_id)
    if room is not None:
        services.registry.release(room)
    out = _invite_out(services, invite)
    return InviteInfo(**msgspec.structs.asdict(out), name=room.committed.name if room is not None else "")


async def accept_invite(request: Request, body: BodyReader[AcceptInvite]) -> JoinToken:
    services = _services(request)
    _limit(request, services.rest_limits.accepts, "invite accepts")
    data = await body.read()
    return await accept_code(services, request.path_params["code"], data.name)


async def accept_code(
    services: Services, code: str, name: str, *, in_store: bool = False, tenant: str | None = None
) -> JoinToken:
    """Use one of the invite's uses and issue a new member's token (``in_store``: the
    member came through a store's QR code, SPEC §20; ``tenant``: the room must be that
    tenant's, else 404 like an unknown invite)."""
    found = await services.store.get_invite(code)
    if found is None:
        raise ApiError(404, "invite_not_found", "no such invite")
    room = await _room(services, found.room_id)
    if tenant is not None and room.tenant != tenant:
        raise ApiError(404, "invite_not_found", "no such invite")
    _refuse_closed(room)
    if len(room.state.members) >= services.settings.max_room_members:
        raise ApiError(409, "too_many_members", "this room cannot take more members")
    if found.created_by.startswith(PUBLISHABLE_INVITER) and _anyone_kicked(room):
        raise ApiError(403, "forbidden", "someone was removed from this room: ask the owner for a new invite")
    try:
        invite = await services.store.use_invite(code, int(time.time() * 1000))
    except InviteError as exc:
        raise ApiError(404 if exc.code == "invite_not_found" else 410, exc.code, str(exc)) from None
    member = new_id("m")
    role: Literal["member", "associate", "viewer"] = invite.role  # type: ignore[assignment]
    token = services.signer.issue(
        room=invite.room_id, member=member, role=role, name=name, ttl=services.settings.token_ttl, in_store=in_store
    )
    return JoinToken(room=invite.room_id, member=member, role=role, token=token, ws_url=services.settings.ws_url)


async def room_snapshot(request: Request) -> RoomSnapshot:
    services = _services(request)
    room_id = request.path_params["room"]
    key = await tenant_key(request, allow_publishable=False)
    if key is not None:
        await require_tenant_room(request, key, room_id)
        room = await _room(services, room_id)
    else:
        _, room = await _member(request, services, room_id)
    return RoomSnapshot(room=room.id, epoch=room.epoch, seq=room.head, state=room.committed)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    services = _services(request)
    problems = []
    if services.draining:
        problems.append("draining")
    if not services.hub.ready:
        problems.append("hub not ready")
    if services.cluster is not None and not services.cluster.ready:
        problems.append("redis unreachable")
    if not services.committer.healthy:
        problems.append("database writes failing")
    try:
        async with asyncio.timeout(2.0):
            await services.store.ping()
    except Exception as exc:  # the detail goes to the log only: it can name hosts, users, paths
        problems.append("database unreachable")
        log.warning("readiness: database unreachable", error=repr(exc))
    if problems:
        return JSONResponse({"status": "not ready", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ready"})


async def metrics(request: Request) -> Response:
    """Prometheus text format from this app's own registry (cosession/metrics/)."""
    registry = _services(request).prometheus
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


_AUTH_ERRORS: dict[int, tuple[str, ...]] = {401: ("unauthorized", "token_expired")}
_BODY_ERRORS: dict[int, tuple[str, ...]] = {400: ("bad_json",), 413: ("too_large",), 422: ("invalid_field",)}
_LIMITED: dict[int, tuple[str, ...]] = {429: ("rate_limited",)}
# operations of the admin API and this module that take a room id (OpenAPI links)
_ROOM_OPS = ("room_snapshot", "create_invite", "get_room", "close_room", "delete_room")

endpoints: list[Endpoint] = [
    endpoint(
        "POST", "/v1/rooms", create_room, "Create a room", ok=CreatedRoom, status=201, body=CreateRoom,
        auth=(NONE, SECRET_KEY, PUBLISHABLE_KEY),
        errors={**_AUTH_ERRORS, **_BODY_ERRORS, **_LIMITED, 403: ("forbidden", "origin_not_allowed")},
        links={op: {"room": "$response.body#/room"} for op in _ROOM_OPS}
        | {"erase_member": {"room": "$response.body#/room", "member": "$response.body#/member"}},
    ),
    endpoint(
        "POST", "/v1/rooms/{room}/invites", create_invite, "Create an invite", ok=InviteOut, status=201,
        body=CreateInvite, auth=(MEMBER_TOKEN, SECRET_KEY, PUBLISHABLE_KEY),
        links={op: {"code": "$response.body#/code"} for op in ("get_invite", "accept_invite")},
        errors={
            **_AUTH_ERRORS, **_BODY_ERRORS, **_LIMITED, 403: ("forbidden", "kicked", "origin_not_allowed"),
            404: ("room_not_found",), 410: ("room_closed",), 503: ("unavailable",),
        },
    ),
    endpoint(
        "GET", "/v1/rooms/{room}/snapshot", room_snapshot, "A room's state", ok=RoomSnapshot,
        auth=(MEMBER_TOKEN, SECRET_KEY),
        errors={**_AUTH_ERRORS, 403: ("forbidden", "kicked"), 404: ("room_not_found",), 503: ("unavailable",)},
    ),
    endpoint(
        "GET", "/v1/invites/{code}", get_invite, "Look up an invite", ok=InviteInfo,
        errors={404: ("invite_not_found",)}, tag="invites",
    ),
    endpoint(
        "POST", "/v1/invites/{code}/accept", accept_invite, "Accept an invite", ok=JoinToken, status=201,
        body=AcceptInvite, tag="invites",
        links={"erase_member": {"room": "$response.body#/room", "member": "$response.body#/member"}},
        errors={
            **_BODY_ERRORS, **_LIMITED, 403: ("forbidden",), 404: ("invite_not_found",), 409: ("too_many_members",),
            410: ("invite_expired", "invite_used_up", "room_closed"), 503: ("unavailable",),
        },
    ),
]  # fmt: skip

routes = [
    *(e.route() for e in endpoints),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]


__all__ = ["MAX_BODY_BYTES", "ApiError", "api_error_handler", "endpoints", "error_response", "routes"]
