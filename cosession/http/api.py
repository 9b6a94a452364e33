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


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


MAX_BODY_BYTES = 16 * 1024


async def _read_capped(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused with 413 before it is read whole: on its
    ``Content-Length``, or (chunked, no length) as soon as the stream passes ``limit``."""
    too_large = ApiError(413, "too_large", f"request body over {limit // 1024} KiB")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise too_large
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        parts.append(chunk)
    return b"".join(parts)


async def _body(request: Request, kind: type[T]) -> T:
    raw = await _read_capped(request)
    try:
        return msgspec.json.decode(raw or b"{}", type=kind)
    except msgspec.ValidationError as exc:
        raise ApiError(422, "invalid_field", str(exc)) from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, "bad_json", str(exc)) from None


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


def _invite_json(services: Services, invite: Invite) -> dict[str, Any]:
    return {
        "code": invite.code,
        "url": _invite_url(services, invite.code),
        "room": invite.room_id,
        "role": invite.role,
        "expires_at": invite.expires_at,
        "max_uses": invite.max_uses,
        "uses": invite.uses,
    }


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


async def create_room(request: Request) -> Response:
    services = _services(request)
    key = await tenant_key(request, allow_publishable=True)
    if key is None and services.settings.require_tenant:
        raise ApiError(401, "unauthorized", "this server requires a tenant API key (Authorization: Bearer sk_/pk_...)")
    if key is None or key.kind == "publishable":  # a tenant's secret key is its server: not limited per address
        _limit(request, services.rest_limits.rooms, "new rooms")
    body = await _body(request, CreateRoom)
    owner = new_id("m")
    room = await services.registry.create(
        body.name, owner, body.owner_name, tenant=key.tenant.id if key is not None else None
    )
    token = services.signer.issue(
        room=room.id, member=owner, role="owner", name=body.owner_name, ttl=services.settings.token_ttl
    )
    invite = await _new_invite(services, room.id, owner, "member", 7 * 24 * 3600, None)
    return JSONResponse(
        {
            "room": room.id,
            "member": owner,
            "role": "owner",
            "token": token,
            "invite": _invite_json(services, invite),
            "ws_url": services.settings.ws_url,
        },
        status_code=201,
    )


async def create_invite(request: Request) -> Response:
    services = _services(request)
    room_id = request.path_params["room"]
    key = await tenant_key(request, allow_publishable=True)
    if key is not None:
        return await _tenant_invite(request, services, key, room_id)
    claims, _ = await _member(request, services, room_id)
    body = await _body(request, CreateInvite)
    if claims.role == "viewer":
        raise ApiError(403, "forbidden", "viewers cannot invite")
    if body.role == "associate" and claims.role != "owner":
        raise ApiError(403, "forbidden", "only the owner can invite a store associate")
    invite = await _new_invite(services, room_id, claims.member, body.role, body.expires_in, body.max_uses)
    return JSONResponse(_invite_json(services, invite), status_code=201)


async def _tenant_invite(request: Request, services: Services, key: TenantKey, room_id: str) -> Response:
    """An invite made with a tenant key. The secret key may invite any role. The
    publishable key is public (an ``Origin`` header proves nothing): it may invite members
    only, is rate-limited per client address, and may not invite into a room someone was
    kicked from (so a kicked person cannot come back under a new id)."""
    await require_tenant_room(request, key, room_id)
    if key.kind == "secret":
        body = await _body(request, CreateInvite)
        invite = await _new_invite(
            services, room_id, f"tenant:{key.tenant.id}", body.role, body.expires_in, body.max_uses
        )
        return JSONResponse(_invite_json(services, invite), status_code=201)
    _limit(request, services.rest_limits.pk_invites, "invites")
    body = await _body(request, CreateInvite)
    if body.role != "member":
        raise ApiError(403, "forbidden", "a publishable key invites members only (associates: the owner's token)")
    if _anyone_kicked(await _room(services, room_id)):
        raise ApiError(403, "forbidden", "someone was removed from this room: invites need the owner's token")
    invite = await _new_invite(
        services, room_id, PUBLISHABLE_INVITER + key.tenant.id, body.role, body.expires_in, body.max_uses
    )
    return JSONResponse(_invite_json(services, invite), status_code=201)


async def get_invite(request: Request) -> Response:
    services = _services(request)
    invite = await services.store.get_invite(request.path_params["code"])
    if invite is None:
        raise ApiError(404, "invite_not_found", "no such invite")
    room = await services.registry.get(invite.room_id)
    if room is not None:
        services.registry.release(room)
    data = _invite_json(services, invite)
    data["name"] = room.committed.name if room is not None else ""
    return JSONResponse(data)


async def accept_invite(request: Request) -> Response:
    services = _services(request)
    _limit(request, services.rest_limits.accepts, "invite accepts")
    body = await _body(request, AcceptInvite)
    code = request.path_params["code"]
    found = await services.store.get_invite(code)
    if found is None:
        raise ApiError(404, "invite_not_found", "no such invite")
    room = await _room(services, found.room_id)
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
        room=invite.room_id, member=member, role=role, name=body.name, ttl=services.settings.token_ttl
    )
    return JSONResponse(
        {
            "room": invite.room_id,
            "member": member,
            "role": role,
            "token": token,
            "ws_url": services.settings.ws_url,
        },
        status_code=201,
    )


async def room_snapshot(request: Request) -> Response:
    services = _services(request)
    room_id = request.path_params["room"]
    key = await tenant_key(request, allow_publishable=False)
    if key is not None:
        await require_tenant_room(request, key, room_id)
        room = await _room(services, room_id)
    else:
        _, room = await _member(request, services, room_id)
    state: RoomState = room.committed
    body = msgspec.json.encode({"room": room.id, "epoch": room.epoch, "seq": room.head, "state": state})
    return Response(body, media_type="application/json")


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


routes = [
    Route("/v1/rooms", create_room, methods=["POST"]),
    Route("/v1/rooms/{room}/invites", create_invite, methods=["POST"]),
    Route("/v1/rooms/{room}/snapshot", room_snapshot, methods=["GET"]),
    Route("/v1/invites/{code}", get_invite, methods=["GET"]),
    Route("/v1/invites/{code}/accept", accept_invite, methods=["POST"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]


async def api_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)
