"""The REST/SSE shapes of the help queue (CONTRACT-14, SPEC 21.3) and request ids.

A request's id on the associate API is ``<room>:<seq>`` (the seq of its ``help.request``).
Queue items carry the room's context and no member id or shopper name.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from cosession.help.context import Money, decode_context
from protocol.messages import Product

MAX_SEQ = 2**53


class QueueItem(msgspec.Struct):
    id: str  # <room>:<seq>
    room: str
    room_name: str
    where: str  # in_store | online
    created_at: int  # ms
    state: str  # open | claimed | closed
    level: int
    cart_lines: int
    store: str | None = None
    department: str | None = None
    note: str | None = None
    associate: str | None = None
    associate_name: str | None = None
    focus: Product | None = None
    cart_total: Money | None = None


def queue_item(row: Any) -> QueueItem:
    ctx = decode_context(row.context)
    return QueueItem(
        id=f"{row.room_id}:{row.seq}",
        room=row.room_id,
        room_name=ctx.room_name,
        where=row.where,
        created_at=row.created_at,
        state=row.state,
        level=row.level,
        cart_lines=ctx.cart_lines,
        store=row.store,
        department=row.department,
        note=row.note,
        associate=row.associate,
        associate_name=row.associate_name,
        focus=ctx.focus,
        cart_total=ctx.cart_total,
    )


def parse_request_id(text: str) -> tuple[str, int] | None:
    """``(room, seq)`` of ``<room>:<seq>``, or None when malformed."""
    room, sep, seq = text.rpartition(":")
    if not sep or not room or len(room) > 64 or not seq.isdigit() or len(seq) > 16:
        return None
    n = int(seq)
    return (room, n) if 1 <= n <= MAX_SEQ else None


def visible(stores: list[str], row: Any) -> bool:
    """Whether an associate serving ``stores`` (empty: all) sees this request."""
    return not stores or row.store is None or row.store in stores


Name = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[^\x00]*$")]
StoreId = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]


class CreateAssociate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    stores: Annotated[list[StoreId], Meta(max_length=100)] = []


class CreatedAssociate(msgspec.Struct):
    associate: str
    token: str  # at_…: shown once
    name: str
    stores: list[str]


class AssociateMe(msgspec.Struct):
    associate: str
    tenant: str
    name: str
    stores: list[str]


class QueuePage(msgspec.Struct):
    requests: list[QueueItem]
    cursor: str  # the change id the list is current at: Last-Event-ID for the stream


class StreamQuery(msgspec.Struct, forbid_unknown_fields=True):
    token: Annotated[str, Meta(max_length=200)] | None = None  # for EventSource, which cannot set headers
    after: Annotated[str, Meta(max_length=20)] | None = None  # resume point (else Last-Event-ID, else now)


class Claimed(msgspec.Struct):
    request: QueueItem
    room: str
    member: str  # the associate's member id in the room
    role: str  # associate
    token: str  # member token for the room
    ws_url: str


class ClosedRequest(msgspec.Struct):
    request: QueueItem


class RoomHelpClosed(msgspec.Struct):
    room: str
    request: int
    state: str


class StatsQuery(msgspec.Struct, forbid_unknown_fields=True):
    days: Annotated[int, Meta(ge=1, le=366)] = 30


class ServiceFigures(msgspec.Struct):
    requests: int
    claimed: int
    escalated: int
    answered: int
    claim_seconds_p50: float | None
    claim_seconds_p90: float | None
    first_answer_seconds_p50: float | None
    first_answer_seconds_p90: float | None


class PlaceFigures(ServiceFigures):
    store: str | None
    department: str | None


class AssociateFigures(msgspec.Struct):
    associate: str
    name: str
    claimed: int
    answered: int
    claim_seconds_p50: float | None
    first_answer_seconds_p50: float | None


class HelpStatsOut(msgspec.Struct):
    tenant: str
    since: int  # ms
    total: ServiceFigures
    by_place: list[PlaceFigures]
    by_associate: list[AssociateFigures]
