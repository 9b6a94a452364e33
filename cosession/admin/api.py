"""The admin REST API under ``/v1/admin`` (a tenant's secret key, its own rooms only):
list and read rooms, close and delete them, erase a member, set the retention policy.
See docs/admin-api.md. Each call costs one token of the tenant's per-node bucket
(``admin_per_minute``): past it, 429 ``rate_limited``.
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import Annotated, Literal

import msgspec
from msgspec import Meta
from starlette.requests import Request

from cosession.admin import actions
from cosession.admin.store import AdminStore, Retention, RoomFilter, RoomListing
from cosession.http.endpoint import SECRET_KEY, Endpoint, endpoint
from cosession.http.errors import ApiError
from cosession.http.inputs import BodyReader
from cosession.http.ratelimit import AddressLimiter, retry_after
from cosession.rooms.room import Room
from cosession.services import Services
from cosession.tenants.auth import TenantKey, tenant_key
from protocol.errors import CloseCode
from protocol.messages import RoomState

Ms = Annotated[int, Meta(ge=0, le=2**53)]
Seconds = Annotated[int, Meta(ge=1, le=10 * 365 * 86400)]
Reason = Annotated[str, Meta(max_length=200, pattern=r"^[^\x00]*$")]
SCAN_BATCHES = 4  # a name search scans at most this many pages of rooms per call


# ---- structs (they decode requests, encode responses, and make the OpenAPI document) ----


class RoomQuery(msgspec.Struct, forbid_unknown_fields=True):
    q: Annotated[str, Meta(max_length=100, pattern=r"^[^\x00]*$")] | None = None  # name contains (any case)
    status: Literal["open", "closed"] | None = None
    created_after: Ms | None = None
    created_before: Ms | None = None
    active_after: Ms | None = None  # last event at or after (ms)
    active_before: Ms | None = None
    cursor: Annotated[str, Meta(max_length=200)] | None = None
    limit: Annotated[int, Meta(ge=1, le=100)] = 50


class RoomSummary(msgspec.Struct):
    room: str
    name: str
    created_at: int
    active_at: int
    seq: int
    closed: bool
    closed_at: int | None
    members: int


class RoomPage(msgspec.Struct):
    """A page of rooms, newest first. ``next_cursor`` is null on the last page; a name
    search may return fewer than ``limit`` rooms on a page that is not the last."""

    rooms: list[RoomSummary]
    next_cursor: str | None


class MemberOut(msgspec.Struct):
    member: str
    name: str
    role: str
    kicked: bool
    erased: bool
    online: bool


class RoomCounts(msgspec.Struct):
    members: int
    online: int
    cart_lines: int
    cart_items: int
    chat_messages: int


class RoomDetail(msgspec.Struct):
    room: str
    epoch: str
    seq: int
    name: str
    owner: str
    closed: bool
    closed_at: int | None
    members: list[MemberOut]
    counts: RoomCounts
    state: RoomState


class CloseRoom(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason = ""


class Purged(msgspec.Struct):
    room: str
    deleted: bool


class Erased(msgspec.Struct):
    room: str
    member: str
    seq: int  # of the member.erase event
    rewritten: int  # stored events and snapshots rewritten


class RetentionPolicy(msgspec.Struct, forbid_unknown_fields=True):
    close_after_seconds: Seconds  # a room with no event for this long is closed
    purge_after_seconds: Annotated[int, Meta(ge=0, le=10 * 365 * 86400)]  # then deleted this long after closing


class RetentionState(msgspec.Struct):
    policy: RetentionPolicy | None


# ---- helpers ---------------------------------------------------------------------------


class AdminContext:
    """Per-app state of the admin API: its SQL and its per-tenant rate limit."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = AdminStore(services.store)
        self.limiter = AddressLimiter(services.settings.admin_per_minute)


def _ctx(request: Request) -> AdminContext:
    ctx: AdminContext = request.app.state.admin
    return ctx


async def _tenant(request: Request) -> TenantKey:
    key = await tenant_key(request, allow_publishable=False)
    if key is None:
        raise ApiError(401, "unauthorized", "an Authorization: Bearer sk_... header is required")
    wait = _ctx(request).limiter.take(f"tenant:{key.tenant.id}", time.monotonic())
    if wait > 0:
        raise ApiError(429, "rate_limited", "too many admin calls: retry later", {"retry-after": retry_after(wait)})
    return key


async def _room_of(request: Request) -> tuple[AdminContext, str]:
    key = await _tenant(request)
    room_id: str = request.path_params["room"]
    if not room_id or len(room_id) > 64 or "\x00" in room_id:  # no such id (PostgreSQL text cannot hold U+0000)
        raise ApiError(404, "room_not_found", "no such room for this tenant")
    # read from the database, not a cache: another node may have purged the room
    tenants = request.app.state.tenants
    tenant = await tenants.room_tenant(room_id, fresh=True)
    if tenant is None and room_id in _ctx(request).services.registry.rooms:
        # purged elsewhere, still loaded here: drop it, as the purging node did
        _ctx(request).services.registry.evict(room_id, CloseCode.ROOM_NOT_FOUND, "room deleted")
    if tenant != key.tenant.id:
        raise ApiError(404, "room_not_found", "no such room for this tenant")
    return _ctx(request), room_id


def _encode_cursor(created_at: int, room_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at}:{room_id}".encode()).decode().rstrip("=")


def _summary(row: RoomListing, state: RoomState) -> RoomSummary:
    return RoomSummary(
        room=row.id,
        name=state.name,
        created_at=row.created_at,
        active_at=row.active_at,
        seq=row.head,
        closed=row.closed_at is not None or state.closed,
        closed_at=row.closed_at,
        members=len(state.members),
    )


def _decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        at, _, room_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition(":")
        created = int(at)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(422, "invalid_field", "bad cursor") from None
    if not 0 <= created <= 2**53 or not room_id or len(room_id) > 64 or "\x00" in room_id:
        raise ApiError(422, "invalid_field", "bad cursor")
    return created, room_id


async def _state(ctx: AdminContext, room_id: str) -> RoomState:
    loaded = ctx.services.registry.rooms.get(room_id)
    if loaded is not None:
        return loaded.committed
    found = await ctx.services.store.load_room(room_id, history=0, idempotency=0)
    return found.state if found is not None else RoomState()


def _detail(room: Room, closed_at: int | None) -> RoomDetail:
    state = room.committed
    online = {p.member for p in room.presence_list()}
    members = [
        MemberOut(member=m, name=i.name, role=i.role, kicked=i.kicked, erased=i.erased, online=m in online)
        for m, i in state.members.items()
    ]
    counts = RoomCounts(
        members=len(state.members),
        online=len(online),
        cart_lines=len(state.cart),
        cart_items=sum(line.qty for line in state.cart),
        chat_messages=len(state.chat),
    )
    return RoomDetail(
        room=room.id,
        epoch=room.epoch,
        seq=room.head,
        name=state.name,
        owner=state.owner,
        closed=state.closed,
        closed_at=closed_at,
        members=members,
        counts=counts,
        state=state,
    )


# ---- handlers --------------------------------------------------------------------------


async def list_rooms(request: Request, query: RoomQuery) -> RoomPage:
    key = await _tenant(request)
    ctx = _ctx(request)
    where = RoomFilter(
        closed=None if query.status is None else query.status == "closed",
        created_after=query.created_after,
        created_before=query.created_before,
        active_after=query.active_after,
        active_before=query.active_before,
    )
    after = _decode_cursor(query.cursor) if query.cursor else None
    needle = (query.q or "").casefold()
    limit = query.limit
    out: list[RoomSummary] = []
    more = False
    for _ in range(SCAN_BATCHES if needle else 1):
        rows = await ctx.store.list_rooms(key.tenant.id, where, after, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        for i, row in enumerate(rows):
            after = (row.created_at, row.id)
            state = await _state(ctx, row.id)
            if needle and needle not in state.name.casefold():
                continue
            out.append(_summary(row, state))
            if len(out) >= limit:
                more = more or i < len(rows) - 1
                break
        if len(out) >= limit or not more:
            break
    next_cursor = _encode_cursor(*after) if more and after is not None else None
    return RoomPage(rooms=out, next_cursor=next_cursor)


async def get_room(request: Request) -> RoomDetail:
    ctx, room_id = await _room_of(request)
    room = await actions.load(ctx.services, room_id)
    return _detail(room, await ctx.store.closed_at(room_id))


async def close_room(request: Request, body: BodyReader[CloseRoom]) -> RoomDetail:
    ctx, room_id = await _room_of(request)
    data = await body.read()
    await actions.close_room(ctx.services, ctx.store, room_id, data.reason, ref="admin:close")
    room = await actions.load(ctx.services, room_id)
    return _detail(room, await ctx.store.closed_at(room_id))


async def delete_room(request: Request) -> Purged:
    ctx, room_id = await _room_of(request)
    await actions.purge_room(ctx.services, ctx.store, room_id)
    return Purged(room=room_id, deleted=True)


async def erase_member(request: Request) -> Erased:
    ctx, room_id = await _room_of(request)
    member: str = request.path_params["member"]
    seq, rewritten = await actions.erase_member(ctx.services, ctx.store, room_id, member)
    return Erased(room=room_id, member=member, seq=seq, rewritten=rewritten)


def _policy_state(policy: Retention | None) -> RetentionState:
    if policy is None:
        return RetentionState(policy=None)
    return RetentionState(
        policy=RetentionPolicy(
            close_after_seconds=policy.close_after // 1000, purge_after_seconds=policy.purge_after // 1000
        )
    )


async def get_retention(request: Request) -> RetentionState:
    key = await _tenant(request)
    return _policy_state(await _ctx(request).store.retention(key.tenant.id))


async def put_retention(request: Request, body: BodyReader[RetentionPolicy]) -> RetentionState:
    key = await _tenant(request)
    data = await body.read()
    policy = Retention(close_after=data.close_after_seconds * 1000, purge_after=data.purge_after_seconds * 1000)
    await _ctx(request).store.set_retention(key.tenant.id, policy)
    return _policy_state(policy)


async def delete_retention(request: Request) -> RetentionState:
    key = await _tenant(request)
    await _ctx(request).store.set_retention(key.tenant.id, None)
    return RetentionState(policy=None)


_AUTH: dict[int, tuple[str, ...]] = {401: ("unauthorized",), 403: ("forbidden",), 429: ("rate_limited",)}
_ROOM: dict[int, tuple[str, ...]] = {**_AUTH, 404: ("room_not_found",), 503: ("unavailable",)}
_BODY: dict[int, tuple[str, ...]] = {400: ("bad_json",), 413: ("too_large",), 422: ("invalid_field",)}
A = "admin"

endpoints: list[Endpoint] = [
    endpoint("GET", "/v1/admin/rooms", list_rooms, "List and search the tenant's rooms", ok=RoomPage,
             query=RoomQuery, auth=(SECRET_KEY,), errors={**_AUTH, 422: ("invalid_field",)}, tag=A),
    endpoint("GET", "/v1/admin/rooms/{room}", get_room, "Read a room: state, members, counts", ok=RoomDetail,
             auth=(SECRET_KEY,), errors=_ROOM, tag=A),
    endpoint("POST", "/v1/admin/rooms/{room}/close", close_room, "Close a room (sequenced room.close)",
             ok=RoomDetail, body=CloseRoom, auth=(SECRET_KEY,), errors={**_ROOM, **_BODY, 409: ("forbidden",)}, tag=A),
    endpoint("DELETE", "/v1/admin/rooms/{room}", delete_room, "Delete a closed room's data", ok=Purged,
             auth=(SECRET_KEY,), errors={**_ROOM, 409: ("room_open",)}, tag=A),
    endpoint("DELETE", "/v1/admin/rooms/{room}/members/{member}", erase_member,
             "Erase a member's personal data (sequenced member.erase + log rewrite)", ok=Erased,
             auth=(SECRET_KEY,), errors={**_ROOM, 404: ("room_not_found", "member_not_found"), 409: ("forbidden",)},
             tag=A),
    endpoint("GET", "/v1/admin/retention", get_retention, "The tenant's retention policy", ok=RetentionState,
             auth=(SECRET_KEY,), errors=_AUTH, tag=A),
    endpoint("PUT", "/v1/admin/retention", put_retention, "Set the retention policy", ok=RetentionState,
             body=RetentionPolicy, auth=(SECRET_KEY,), errors={**_AUTH, **_BODY}, tag=A),
    endpoint("DELETE", "/v1/admin/retention", delete_retention, "Turn retention off", ok=RetentionState,
             auth=(SECRET_KEY,), errors=_AUTH, tag=A),
]  # fmt: skip
