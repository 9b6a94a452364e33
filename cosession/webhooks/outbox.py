"""The outbox writer: webhook rows inserted in the transaction that stores their cause.

``SqlStore`` calls ``write_for_events`` inside every transaction that inserts log events
(the group commit, room creation, the cluster archiver), so an event and its webhook
rows commit together or not at all: a database that refuses the commit leaves neither.
Events that map to no webhook type (cart ops, chat: nearly all of them) cost nothing;
otherwise one query finds the rooms' tenants and their enabled endpoints. Rooms without
a tenant, or whose tenant has no endpoint, write nothing.

Rows are insert-if-absent on ``(endpoint_id, msg_id)`` with deterministic ids
(``cosession.webhooks.events.message_id``), so duplicate commits never enqueue twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from cosession.store.models import RoomRow
from cosession.store.store import PendingEvent
from cosession.webhooks.events import WebhookMessage, maps, webhook_messages
from cosession.webhooks.models import WebhookEndpointRow, WebhookOutboxRow

ROOMS = RoomRow.__table__  # type: ignore[attr-defined]
ENDPOINTS = WebhookEndpointRow.__table__  # type: ignore[attr-defined]
OUTBOX = WebhookOutboxRow.__table__  # type: ignore[attr-defined]

_IN_CHUNK = 500


def subscribed(event_types: str, type_: str) -> bool:
    wanted = json.loads(event_types or "[]")
    return not wanted or type_ in wanted


def _now_ms() -> int:
    return int(time.time() * 1000)


async def write_for_events(conn: AsyncConnection, insert: Any, events: Iterable[PendingEvent]) -> int:
    """Insert the outbox rows ``events`` cause; how many rows were offered."""
    mapped = [p for p in events if maps(p.event)]
    if not mapped:
        return 0
    room_ids = sorted({p.room_id for p in mapped})
    rooms: dict[str, tuple[str, str]] = {}  # room -> (epoch, tenant)
    endpoints: dict[str, list[tuple[str, str]]] = {}  # tenant -> [(endpoint id, event types)]
    for i in range(0, len(room_ids), _IN_CHUNK):
        chunk = room_ids[i : i + _IN_CHUNK]
        rows = await conn.execute(
            select(ROOMS.c.id, ROOMS.c.epoch, ROOMS.c.tenant, ENDPOINTS.c.id, ENDPOINTS.c.event_types)
            .select_from(ROOMS.join(ENDPOINTS, ENDPOINTS.c.tenant == ROOMS.c.tenant))
            .where(ROOMS.c.id.in_(chunk), ENDPOINTS.c.enabled.is_(True))
        )
        for room_id, epoch, tenant, endpoint_id, types in rows:
            rooms[room_id] = (epoch, tenant)
            found = endpoints.setdefault(tenant, [])
            if (endpoint_id, types) not in found:
                found.append((endpoint_id, types))
    if not rooms:
        return 0
    messages: list[WebhookMessage] = []
    for p in mapped:
        if p.room_id in rooms:
            epoch, tenant = rooms[p.room_id]
            messages.extend(webhook_messages(tenant, p.room_id, epoch, p.event))
    return await _insert(conn, insert, messages, endpoints)


async def write_messages(conn: AsyncConnection, insert: Any, messages: list[WebhookMessage]) -> int:
    """Insert rows for messages that are not log events (``member.left`` after the grace)."""
    tenants = sorted({m.tenant for m in messages})
    if not tenants:
        return 0
    endpoints: dict[str, list[tuple[str, str]]] = {}
    rows = await conn.execute(
        select(ENDPOINTS.c.tenant, ENDPOINTS.c.id, ENDPOINTS.c.event_types).where(
            ENDPOINTS.c.tenant.in_(tenants), ENDPOINTS.c.enabled.is_(True)
        )
    )
    for tenant, endpoint_id, types in rows:
        endpoints.setdefault(tenant, []).append((endpoint_id, types))
    return await _insert(conn, insert, messages, endpoints)


async def _insert(
    conn: AsyncConnection, insert: Any, messages: list[WebhookMessage], endpoints: dict[str, list[tuple[str, str]]]
) -> int:
    now = _now_ms()
    values = [
        {
            "endpoint_id": endpoint_id,
            "msg_id": m.id,
            "tenant": m.tenant,
            "room_id": m.room,
            "type": m.type,
            "pos": m.pos,
            "body": m.body,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "lease_owner": None,
            "lease_until": 0,
            "created_at": now,
        }
        for m in messages
        for endpoint_id, types in endpoints.get(m.tenant, [])
        if subscribed(types, m.type)
    ]
    if values:
        await conn.execute(insert(OUTBOX).on_conflict_do_nothing(index_elements=["endpoint_id", "msg_id"]), values)
    return len(values)
