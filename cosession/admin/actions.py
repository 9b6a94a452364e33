"""What the admin API and the retention sweeper do to a room: close it, erase a member,
purge it. Each goes through the room's normal sequencing path (``Room.submit_server``),
so it works embedded and in a cluster, and each is idempotent (a ref derived from what
it does), so a retry or a second node never does it twice.
"""

from __future__ import annotations

import hashlib
import time

from cosession.admin.store import AdminStore
from cosession.http.errors import ApiError
from cosession.hub.hub import HubUnavailable
from cosession.rooms.room import Room
from cosession.services import Services
from protocol.errors import CloseCode, ErrorCode
from protocol.messages import EventBody, MemberErase, RoomClose


def now_ms() -> int:
    return int(time.time() * 1000)


async def load(services: Services, room_id: str) -> Room:
    try:
        room = await services.registry.get(room_id)
    except HubUnavailable:
        raise ApiError(503, "unavailable", "the room cannot be loaded right now: retry later") from None
    if room is None:
        raise ApiError(404, "room_not_found", "no such room")
    services.registry.release(room)
    return room


async def _submit(room: Room, ref: str, body: EventBody, tolerate: ErrorCode) -> int:
    seq, rejection = await room.submit_server(ref, body)
    if rejection is not None and rejection.code != tolerate:
        status = 503 if rejection.code == ErrorCode.UNAVAILABLE else 409
        raise ApiError(status, str(rejection.code), rejection.message)
    return seq


async def close_room(services: Services, admin: AdminStore, room_id: str, reason: str, ref: str) -> int:
    """Sequence ``room.close`` (a no-op answer when it is closed already), then record the
    closure (first time wins). Members online see the event; later ops get ``room_closed``."""
    room = await load(services, room_id)
    seq = await _submit(room, ref, RoomClose(reason=reason), ErrorCode.ROOM_CLOSED)
    await admin.record_closed(room_id, now_ms(), reason)
    return seq


def _erase_ref(member: str) -> str:
    """The erasure's idempotency ref; refs are at most 64 characters (the log's column)."""
    return "erase:" + (member if len(member) <= 58 else hashlib.sha256(member.encode()).hexdigest()[:40])


async def erase_member(services: Services, admin: AdminStore, room_id: str, member: str) -> tuple[int, int]:
    """Sequence ``member.erase`` (every replica and client tombstones the member), then
    rewrite the stored log and snapshot. Returns (seq, rows rewritten)."""
    room = await load(services, room_id)
    if member not in room.committed.members:
        raise ApiError(404, "member_not_found", "no such member in this room")
    seq = await _submit(room, _erase_ref(member), MemberErase(member=member), ErrorCode.NOT_FOUND)
    rewritten = await admin.erase_member(room_id, member)
    if services.notify is not None:  # push endpoints and notification settings (docs/notifications.md)
        await services.notify.store.forget(room_id, member)
    erase_stream = getattr(room, "erase_stream", None)  # a cluster room: Redis holds recent events too
    if erase_stream is not None:
        try:
            rewritten += await erase_stream(member)
        except HubUnavailable:
            raise ApiError(503, "unavailable", "erased from the log, but Redis is away: retry") from None
    return seq, rewritten


async def purge_room(services: Services, admin: AdminStore, room_id: str) -> None:
    """Delete a closed room's data; its connections on this node are closed (4004)."""
    if not await admin.purge(room_id):
        room = await load(services, room_id)  # 404 when there is no such room
        if not room.committed.closed:
            raise ApiError(409, "room_open", "close the room before deleting it")
        await admin.record_closed(room_id, now_ms(), "")  # closed, but its closure was never recorded
        await admin.purge(room_id)
    services.focus.forget(room_id)  # focus rows queued on this node would bring it back to trends
    if services.notify is not None:
        await services.notify.store.forget(room_id, None)
    services.registry.evict(room_id, CloseCode.ROOM_NOT_FOUND, "room deleted")
    redis = services.registry.redis_hub
    if redis is not None:  # a cluster: Redis still holds the room's recent events
        try:
            await redis.forget_room(room_id)
        except HubUnavailable:
            pass  # the stream is bounded and the room is gone from SQL: nothing serves it again
