"""Which room events become which webhook messages: a pure mapping, no I/O.

``webhook_messages(tenant, room, epoch, event)`` turns one committed log event into the
webhook messages it causes (usually none: cart ops and chat cause none). The outbox
writer (``cosession/webhooks/outbox.py``) calls it inside the transaction that stores the
event and fans each message out to the tenant's subscribed endpoints.

Extending: add one entry to ``MAPPERS`` keyed by the event body's struct class, with a
function ``(event) -> list[(type, data)]``, and list the new type in ``EventType``
(endpoints may subscribe only to known types). ``room.close`` becomes ``room.closed`` and
``checkout.start`` becomes ``checkout.requested``, whose ``data.checkout`` is the signed
snapshot exactly as ``GET /v1/checkouts/{id}`` returns it (docs/checkout.md recipe).
``notification`` is not in ``MAPPERS``: whether a member is told depends on presence,
mute and the quiet window, not on the event alone, so ``cosession/notify/writer.py``
builds it with ``notification_message`` in the same transaction.

Message ids are deterministic: ``message_id(room, epoch, seq, type)``. A node and the
cluster archiver that both commit the same event, or a group commit retried after a
timeout, produce the same id, and the outbox's unique key keeps one row.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

import msgspec

from cosession.retail.checkout import snapshot_dict
from protocol.messages import CheckoutStart, Event, HelpRequest, MemberJoin, MemberKick, RoomClose, RoomCreate

# Every type an endpoint may subscribe to (docs/webhooks.md describes each payload).
EventType = Literal[
    "room.created",
    "room.closed",
    "member.joined",
    "member.left",
    "checkout.requested",
    "help.requested",
    "notification",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)

Data = dict[str, Any]
Mapper = Callable[[Event], list[tuple[str, Data]]]


def _room_created(event: Event) -> list[tuple[str, Data]]:
    op = event.op
    assert isinstance(op, RoomCreate)
    return [("room.created", {"name": op.name, "owner": op.owner, "owner_name": op.owner_name})]


def _member_joined(event: Event) -> list[tuple[str, Data]]:
    op = event.op
    assert isinstance(op, MemberJoin)
    return [("member.joined", {"member": op.member, "name": op.name, "role": op.role})]


def _member_kicked(event: Event) -> list[tuple[str, Data]]:
    op = event.op
    assert isinstance(op, MemberKick)
    return [("member.left", {"member": op.member, "reason": "kicked", "by": event.by})]


def _room_closed(event: Event) -> list[tuple[str, Data]]:
    op = event.op
    assert isinstance(op, RoomClose)
    return [("room.closed", {"reason": op.reason})]


def _checkout_requested(event: Event) -> list[tuple[str, Data]]:
    op = event.op
    assert isinstance(op, CheckoutStart)
    return [("checkout.requested", {"checkout": snapshot_dict(op)})]


def _help_requested(event: Event) -> list[tuple[str, Data]]:
    op = event.op
    assert isinstance(op, HelpRequest)
    data: Data = {"request": event.seq, "by": event.by, "where": op.where}
    if op.department is not None:
        data["department"] = op.department
    if op.note is not None:
        data["note"] = op.note
    return [("help.requested", data)]


# event body class -> mapper. The one place to extend (see the module docstring).
MAPPERS: dict[type, Mapper] = {
    RoomCreate: _room_created,
    MemberJoin: _member_joined,
    MemberKick: _member_kicked,
    RoomClose: _room_closed,
    CheckoutStart: _checkout_requested,
    HelpRequest: _help_requested,
}


@dataclass(frozen=True)
class WebhookMessage:
    """One message, before it is fanned out to endpoints."""

    id: str
    type: str
    tenant: str
    room: str
    pos: int  # the room's seq it follows: per-room delivery order
    body: bytes  # JSON, exactly as delivered


def message_id(*parts: str | int) -> str:
    """``msg_`` and 26 base32 characters of SHA-256 over the parts: same parts, same id."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return "msg_" + base64.b32encode(digest).decode().lower()[:26]


def iso_ms(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC).isoformat(timespec="milliseconds")


def payload(msg_id: str, type_: str, tenant: str, room: str, seq: int | None, ts: int, data: Data) -> bytes:
    body: Data = {"id": msg_id, "type": type_, "timestamp": iso_ms(ts), "data": {"room": room, "tenant": tenant}}
    if seq is not None:
        body["data"]["seq"] = seq
    body["data"].update(data)
    return msgspec.json.encode(body)


def maps(event: Event) -> bool:
    """Whether ``event`` causes any webhook message (cheap: checked before any query)."""
    return type(event.op) in MAPPERS


def webhook_messages(tenant: str, room: str, epoch: str, event: Event) -> list[WebhookMessage]:
    mapper = MAPPERS.get(type(event.op))
    if mapper is None:
        return []
    out = []
    for type_, data in mapper(event):
        msg_id = message_id(room, epoch, event.seq, type_)
        body = payload(msg_id, type_, tenant, room, event.seq, event.ts, data)
        out.append(WebhookMessage(id=msg_id, type=type_, tenant=tenant, room=room, pos=event.seq, body=body))
    return out


def member_left(tenant: str, room: str, member: str, name: str, pos: int, ts: int, key: str) -> WebhookMessage:
    """``member.left`` when a member's last connection left after the presence grace (not
    a log event). ``key`` makes the id: the same leave noticed twice gives the same id."""
    msg_id = message_id(room, "presence", member, key, "member.left")
    data = {"member": member, "name": name, "reason": "left"}
    body = payload(msg_id, "member.left", tenant, room, None, ts, data)
    return WebhookMessage(id=msg_id, type="member.left", tenant=tenant, room=room, pos=pos, body=body)


def notification_message(
    tenant: str, room: str, member: str, reasons: dict[str, int], digest: bool, pos: int, ts: int, key: str
) -> WebhookMessage:
    """``notification`` for a member with no live connection (SPEC 18). Counts only: no
    names, no text, no products; ``key`` (the cause's seq, or the digest's window) makes
    the id, so a retried transaction writes it once."""
    msg_id = message_id(room, "notify", member, key, "notification")
    data = {
        "member": member,
        "reasons": dict(sorted(reasons.items())),
        "count": sum(reasons.values()),
        "digest": digest,
    }
    body = payload(msg_id, "notification", tenant, room, None, ts, data)
    return WebhookMessage(id=msg_id, type="notification", tenant=tenant, room=room, pos=pos, body=body)
