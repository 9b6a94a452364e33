"""Notification rows written inside the transaction that stores their cause.

``SqlStore`` calls ``write_for_events`` in every transaction that inserts log events the
room marked with notification targets (``PendingEvent.notify``: members with no live
connection, decided by the node that sequenced the event). Per (room, member) it applies
the quiet rule (cosession/notify/quiet.py) to the member's ``notify_members`` row, read
with ``FOR UPDATE`` on PostgreSQL so two nodes never count past each other, and writes
what is sent now: a ``notification`` webhook message (cosession/webhooks) and one
``push_outbox`` row per push subscription. Muted members get nothing. A cause whose seq
the row already counted (a group commit retried after a timeout) is skipped.

``write_notices`` is shared with the digest sweep (cosession/notify/store.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cosession.notify.models import NotifyMemberRow, PushOutboxRow, PushSubscriptionRow
from cosession.notify.quiet import Window, arrive
from cosession.store.models import RoomRow
from cosession.store.store import PendingEvent
from cosession.webhooks.events import message_id, notification_message
from cosession.webhooks.outbox import write_messages

MEMBERS = NotifyMemberRow.__table__  # type: ignore[attr-defined]
SUBSCRIPTIONS = PushSubscriptionRow.__table__  # type: ignore[attr-defined]
PUSH = PushOutboxRow.__table__  # type: ignore[attr-defined]
ROOMS = RoomRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Notice:
    """One notification to send now (to the retailer's webhook and the member's browsers)."""

    room: str
    member: str
    reasons: dict[str, int]
    digest: bool
    pos: int  # the seq of its (last) cause: the webhook's per-room order
    key: str  # makes the message id: the cause's seq, or the digest's window


@dataclass(frozen=True)
class Written:
    webhooks: int = 0
    pushes: int = 0


def window_of(row: Any) -> Window:
    return Window(row.window_until, json.loads(row.pending or "{}"), row.pending_pos)


def window_values(window: Window, now: int) -> dict[str, Any]:
    return {
        "window_until": window.window_until,
        "pending": json.dumps(window.pending, sort_keys=True),
        "pending_count": sum(window.pending.values()),
        "pending_pos": window.pending_pos,
        "updated_at": now,
    }


async def member_row(conn: AsyncConnection, insert: Any, room: str, member: str, now: int, *, lock: bool) -> Any:
    """The member's row (created if absent), locked for update on PostgreSQL."""
    await conn.execute(
        insert(MEMBERS).on_conflict_do_nothing(index_elements=["room_id", "member"]),
        [{"room_id": room, "member": member, "muted": False, "window_until": 0, "pending": "{}",
          "pending_count": 0, "pending_pos": 0, "updated_at": now}],
    )  # fmt: skip
    query = select(MEMBERS).where(MEMBERS.c.room_id == room, MEMBERS.c.member == member)
    if lock:
        query = query.with_for_update()
    return (await conn.execute(query)).one()


async def write_for_events(
    conn: AsyncConnection, insert: Any, events: Iterable[PendingEvent], now: int, quiet_ms: int, *, lock: bool
) -> Written:
    causes: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for p in events:
        for member, reason in p.notify:
            causes.setdefault((p.room_id, member), []).append((p.event.seq, reason))
    if not causes:
        return Written()
    notices: list[Notice] = []
    for (room, member), found in sorted(causes.items()):
        row = await member_row(conn, insert, room, member, now, lock=lock)
        if row.muted:
            continue
        window = window_of(row)
        for pos, reason in sorted(found):
            if pos <= window.pending_pos:
                continue  # counted already (the same event committed again)
            decision = arrive(window, [reason], pos, now, quiet_ms)
            window = decision.window
            if decision.send is not None:
                notices.append(Notice(room, member, decision.send, False, pos, str(pos)))
        await conn.execute(
            update(MEMBERS)
            .where(MEMBERS.c.room_id == room, MEMBERS.c.member == member)
            .values(**window_values(window, now))
        )
    return await write_notices(conn, insert, notices, now)


def push_body(notice: Notice, url: str) -> bytes:
    """The push payload before encryption: counts and where to go, no text (SPEC 18.4)."""
    return msgspec.json.encode(
        {
            "t": "notification",
            "room": notice.room,
            "reasons": dict(sorted(notice.reasons.items())),
            "count": sum(notice.reasons.values()),
            "digest": notice.digest,
            "url": url,
        }
    )


async def write_notices(conn: AsyncConnection, insert: Any, notices: list[Notice], now: int) -> Written:
    if not notices:
        return Written()
    rooms = sorted({n.room for n in notices})
    tenants = {
        room: tenant
        for room, tenant in await conn.execute(select(ROOMS.c.id, ROOMS.c.tenant).where(ROOMS.c.id.in_(rooms)))
    }
    messages = [
        notification_message(tenants[n.room], n.room, n.member, n.reasons, n.digest, n.pos, now, n.key)
        for n in notices
        if tenants.get(n.room)
    ]
    webhooks = await write_messages(conn, insert, messages) if messages else 0
    pushes = []
    for n in notices:
        subs = await conn.execute(
            select(SUBSCRIPTIONS.c.id, SUBSCRIPTIONS.c.url).where(
                SUBSCRIPTIONS.c.room_id == n.room, SUBSCRIPTIONS.c.member == n.member
            )
        )
        msg_id = message_id(n.room, "notify", n.member, n.key, "push")
        for sub_id, url in subs:
            pushes.append(
                {"subscription_id": sub_id, "msg_id": msg_id, "room_id": n.room, "body": push_body(n, url),
                 "status": "pending", "attempts": 0, "next_attempt_at": now, "lease_owner": None,
                 "lease_until": 0, "created_at": now}
            )  # fmt: skip
    if pushes:
        await conn.execute(insert(PUSH).on_conflict_do_nothing(index_elements=["subscription_id", "msg_id"]), pushes)
    return Written(webhooks=webhooks, pushes=len(pushes))
