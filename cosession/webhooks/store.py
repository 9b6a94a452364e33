"""Webhook records through the server's ``SqlStore``: endpoints, the delivery log, and
the leases the delivery worker takes on due outbox rows.

Claiming (``claim``) is one transaction: select due rows that are the oldest pending
message of their (endpoint, room) and not leased by a live node, then lease them to this
node until ``lease_until``. On PostgreSQL the select is ``FOR UPDATE OF webhook_outbox
SKIP LOCKED``, so two nodes claiming at once never get the same row and never wait for
each other; a node that dies holding leases loses them when they expire. SQLite (one
process) runs the same statements in its serialised write transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from cosession.store.store_sql import SqlStore
from cosession.webhooks.events import member_left
from cosession.webhooks.models import WebhookAttemptRow, WebhookEndpointRow, WebhookOutboxRow
from cosession.webhooks.outbox import ROOMS, write_messages

ENDPOINTS = WebhookEndpointRow.__table__  # type: ignore[attr-defined]
OUTBOX = WebhookOutboxRow.__table__  # type: ignore[attr-defined]
ATTEMPTS = WebhookAttemptRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Endpoint:
    id: str
    tenant: str
    url: str
    secret: str
    event_types: tuple[str, ...]
    description: str
    enabled: bool
    created_at: int


@dataclass(frozen=True)
class Claimed:
    """One leased outbox row, with what a delivery needs."""

    row_id: int
    msg_id: str
    endpoint_id: str
    url: str
    secret: str
    body: bytes
    attempts: int  # attempts made before this one


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt came to."""

    claimed: Claimed
    at: int  # ms, when the attempt started
    ok: bool
    code: int | None  # HTTP status; None when no response came
    error: str
    duration_ms: int
    next_attempt_at: int | None  # ms; None: delivered (ok) or dead (not ok)


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(
        id=row.id,
        tenant=row.tenant,
        url=row.url,
        secret=row.secret,
        event_types=tuple(json.loads(row.event_types or "[]")),
        description=row.description,
        enabled=bool(row.enabled),
        created_at=row.created_at,
    )


class WebhookStore:
    def __init__(self, store: SqlStore) -> None:
        self.store = store

    # ---- endpoints -------------------------------------------------------------------

    async def create_endpoint(self, endpoint: Endpoint) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                ENDPOINTS.insert().values(
                    id=endpoint.id,
                    tenant=endpoint.tenant,
                    url=endpoint.url,
                    secret=endpoint.secret,
                    event_types=json.dumps(list(endpoint.event_types)),
                    description=endpoint.description,
                    enabled=endpoint.enabled,
                    created_at=endpoint.created_at,
                )
            )

    async def count_endpoints(self, tenant: str) -> int:
        async with self.store.reader() as conn:
            n: int | None = await conn.scalar(select(func.count()).where(ENDPOINTS.c.tenant == tenant))
            return n or 0

    async def endpoints(self, tenant: str) -> list[Endpoint]:
        async with self.store.reader() as conn:
            rows = await conn.execute(
                select(ENDPOINTS).where(ENDPOINTS.c.tenant == tenant).order_by(ENDPOINTS.c.created_at, ENDPOINTS.c.id)
            )
            return [_endpoint(r) for r in rows]

    async def endpoint(self, tenant: str, endpoint_id: str) -> Endpoint | None:
        async with self.store.reader() as conn:
            row = (
                await conn.execute(select(ENDPOINTS).where(ENDPOINTS.c.tenant == tenant, ENDPOINTS.c.id == endpoint_id))
            ).first()
            return None if row is None else _endpoint(row)

    async def set_enabled(self, tenant: str, endpoint_id: str, enabled: bool) -> bool:
        async with self.store.transaction() as conn:
            result = await conn.execute(
                update(ENDPOINTS)
                .where(ENDPOINTS.c.tenant == tenant, ENDPOINTS.c.id == endpoint_id)
                .values(enabled=enabled)
            )
            return bool(result.rowcount)

    async def delete_endpoint(self, tenant: str, endpoint_id: str) -> bool:
        async with self.store.transaction() as conn:
            result = await conn.execute(
                delete(ENDPOINTS).where(ENDPOINTS.c.tenant == tenant, ENDPOINTS.c.id == endpoint_id)
            )
            if not result.rowcount:
                return False
            await conn.execute(delete(OUTBOX).where(OUTBOX.c.endpoint_id == endpoint_id))
            await conn.execute(delete(ATTEMPTS).where(ATTEMPTS.c.endpoint_id == endpoint_id))
            return True

    # ---- the delivery log ------------------------------------------------------------

    async def messages(self, endpoint_id: str, *, status: str | None, limit: int, before: int | None) -> list[Any]:
        query = select(OUTBOX).where(OUTBOX.c.endpoint_id == endpoint_id)
        if status is not None:
            query = query.where(OUTBOX.c.status == status)
        if before is not None:
            query = query.where(OUTBOX.c.id < before)
        async with self.store.reader() as conn:
            return list(await conn.execute(query.order_by(OUTBOX.c.id.desc()).limit(limit)))

    async def message(self, endpoint_id: str, msg_id: str) -> Any:
        async with self.store.reader() as conn:
            return (
                await conn.execute(select(OUTBOX).where(OUTBOX.c.endpoint_id == endpoint_id, OUTBOX.c.msg_id == msg_id))
            ).first()

    async def attempts(self, endpoint_id: str, msg_id: str) -> list[Any]:
        async with self.store.reader() as conn:
            rows = await conn.execute(
                select(ATTEMPTS)
                .where(ATTEMPTS.c.endpoint_id == endpoint_id, ATTEMPTS.c.msg_id == msg_id)
                .order_by(ATTEMPTS.c.id)
            )
            return list(rows)

    async def redeliver(self, endpoint_id: str, msg_id: str, now: int) -> bool:
        """Send again as soon as possible. A delivered or dead message starts a fresh
        retry schedule; a pending one is just made due now (an attempt in flight keeps
        its lease: redelivery never makes two nodes send at once)."""
        mine = (OUTBOX.c.endpoint_id == endpoint_id, OUTBOX.c.msg_id == msg_id)
        async with self.store.transaction() as conn:
            result = await conn.execute(
                update(OUTBOX)
                .where(*mine, OUTBOX.c.status != "pending")
                .values(status="pending", attempts=0, next_attempt_at=now, lease_owner=None, lease_until=0)
            )
            if result.rowcount:
                return True
            await conn.execute(update(OUTBOX).where(*mine, OUTBOX.c.next_attempt_at > now).values(next_attempt_at=now))
            found = await conn.scalar(select(func.count()).where(*mine))
            return bool(found)

    async def purge(self, before: int) -> int:
        """Forget delivered and dead messages created before ``before`` (ms), and attempts
        made before it. Pending messages are kept whatever their age."""
        async with self.store.transaction() as conn:
            result = await conn.execute(
                delete(OUTBOX).where(OUTBOX.c.status != "pending", OUTBOX.c.created_at < before)
            )
            await conn.execute(delete(ATTEMPTS).where(ATTEMPTS.c.at < before))
            return int(result.rowcount or 0)

    # ---- the worker ------------------------------------------------------------------

    async def enqueue_member_left(self, room: str, member: str, name: str, pos: int, ts: int, key: str) -> int:
        """``member.left`` after the presence grace (no log event): its own transaction."""
        async with self.store.transaction() as conn:
            tenant = await conn.scalar(select(ROOMS.c.tenant).where(ROOMS.c.id == room))
            if not tenant:
                return 0
            message = member_left(tenant, room, member, name, pos, ts, key)
            rows = await write_messages(conn, self.store.insert, [message])
        if rows and self.store.on_outbox is not None:
            self.store.on_outbox()
        return rows

    async def claim(self, node: str, now: int, lease_ms: int, limit: int) -> list[Claimed]:
        earlier = aliased(OUTBOX)
        blocked = exists().where(
            earlier.c.endpoint_id == OUTBOX.c.endpoint_id,
            earlier.c.room_id == OUTBOX.c.room_id,
            earlier.c.status == "pending",
            or_(earlier.c.pos < OUTBOX.c.pos, and_(earlier.c.pos == OUTBOX.c.pos, earlier.c.id < OUTBOX.c.id)),
        )
        query = (
            select(OUTBOX.c.id, OUTBOX.c.msg_id, OUTBOX.c.endpoint_id, OUTBOX.c.body, OUTBOX.c.attempts)
            .select_from(OUTBOX.join(ENDPOINTS, ENDPOINTS.c.id == OUTBOX.c.endpoint_id))
            .where(
                OUTBOX.c.status == "pending",
                OUTBOX.c.next_attempt_at <= now,
                OUTBOX.c.lease_until < now,
                ENDPOINTS.c.enabled.is_(True),
                ~blocked,
            )
            .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id)
            .limit(limit)
        )
        if not self.store.is_sqlite:
            query = query.with_for_update(skip_locked=True, of=OUTBOX)
        async with self.store.transaction() as conn:
            rows = list(await conn.execute(query))
            if not rows:
                return []
            ids = [r.id for r in rows]
            await conn.execute(
                update(OUTBOX).where(OUTBOX.c.id.in_(ids)).values(lease_owner=node, lease_until=now + lease_ms)
            )
            targets = {
                r.id: (r.url, r.secret)
                for r in await conn.execute(
                    select(ENDPOINTS.c.id, ENDPOINTS.c.url, ENDPOINTS.c.secret).where(
                        ENDPOINTS.c.id.in_(sorted({r.endpoint_id for r in rows}))
                    )
                )
            }
        return [
            Claimed(
                row_id=r.id,
                msg_id=r.msg_id,
                endpoint_id=r.endpoint_id,
                url=targets[r.endpoint_id][0],
                secret=targets[r.endpoint_id][1],
                body=r.body,
                attempts=r.attempts,
            )
            for r in rows
        ]

    async def record(
        self,
        claimed: Claimed,
        *,
        node: str,
        at: int,
        ok: bool,
        code: int | None,
        error: str,
        duration_ms: int,
        next_attempt_at: int | None,
    ) -> None:
        await self.record_many([Outcome(claimed, at, ok, code, error, duration_ms, next_attempt_at)], node)

    async def record_many(self, outcomes: list[Outcome], node: str) -> None:
        """Log the attempts and settle their rows, in one transaction: delivered, due
        again at ``next_attempt_at``, or dead (``next_attempt_at`` None after a failure).
        A row whose lease another node took meanwhile is left to that node (only the
        attempt is logged)."""
        if not outcomes:
            return
        async with self.store.transaction() as conn:
            await conn.execute(
                ATTEMPTS.insert(),
                [
                    {
                        "endpoint_id": o.claimed.endpoint_id,
                        "msg_id": o.claimed.msg_id,
                        "attempt": o.claimed.attempts + 1,
                        "at": o.at,
                        "ok": o.ok,
                        "code": o.code,
                        "error": o.error[:300],
                        "duration_ms": o.duration_ms,
                        "node": node[:128],
                    }
                    for o in outcomes
                ],
            )
            for o in outcomes:
                if o.ok:
                    values: dict[str, Any] = {"status": "delivered", "delivered_at": o.at}
                elif o.next_attempt_at is None:
                    values = {"status": "dead"}
                else:
                    values = {"next_attempt_at": o.next_attempt_at}
                await conn.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id == o.claimed.row_id, OUTBOX.c.lease_owner == node, OUTBOX.c.status == "pending")
                    .values(
                        attempts=o.claimed.attempts + 1, last_code=o.code, lease_owner=None, lease_until=0, **values
                    )
                )

    async def release_leases(self, owner: str | None = None) -> None:
        """Forget the leases of ``owner`` (a node stopping: others may take its rows at
        once), or every lease (SQLite at start: no other process can hold one)."""
        held = OUTBOX.c.lease_owner.is_not(None) if owner is None else OUTBOX.c.lease_owner == owner
        async with self.store.transaction() as conn:
            await conn.execute(update(OUTBOX).where(held).values(lease_owner=None, lease_until=0))

    async def oldest_pending(self) -> int | None:
        """``created_at`` of the oldest message not yet delivered or dead-lettered (ms)."""
        async with self.store.reader() as conn:
            oldest: int | None = await conn.scalar(
                select(func.min(OUTBOX.c.created_at)).where(OUTBOX.c.status == "pending")
            )
            return oldest
