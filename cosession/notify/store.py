"""Notification records through the server's ``SqlStore``: mute, push subscriptions, the
digest sweep and the push outbox leases.

The digest sweep (``send_due_digests``) selects rows whose quiet window ended with
something pending and, in the same transaction, clears them and writes the digest's
webhook and push rows; on PostgreSQL the select is ``FOR UPDATE SKIP LOCKED``, so of N
nodes sweeping at once each row goes to exactly one, and a node that dies mid-way rolls
back (another sends it). Push rows are leased (``claim_pushes``) and settled
(``settle_push``) like the webhook outbox (cosession/webhooks/store.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update

from cosession.notify.quiet import digest
from cosession.notify.writer import (
    MEMBERS,
    PUSH,
    SUBSCRIPTIONS,
    Notice,
    member_row,
    window_of,
    window_values,
    write_notices,
)
from cosession.store.store_sql import SqlStore


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    p256dh: str
    auth: str
    url: str = ""


@dataclass(frozen=True)
class ClaimedPush:
    row_id: int
    subscription_id: int
    msg_id: str
    body: bytes
    attempts: int
    endpoint: str
    p256dh: str
    auth: str


class NotifyStore:
    def __init__(self, store: SqlStore) -> None:
        self.store = store

    # ---- settings and subscriptions (the member's REST calls) -------------------------

    async def muted(self, room: str, member: str) -> bool:
        async with self.store.reader() as conn:
            found = await conn.scalar(
                select(MEMBERS.c.muted).where(MEMBERS.c.room_id == room, MEMBERS.c.member == member)
            )
            return bool(found)

    async def set_muted(self, room: str, member: str, muted: bool, now: int) -> None:
        """Mute drops anything pending too: a muted member is sent nothing, digests included."""
        async with self.store.transaction() as conn:
            await member_row(conn, self.store.insert, room, member, now, lock=not self.store.is_sqlite)
            values: dict[str, Any] = {"muted": muted, "updated_at": now}
            if muted:
                values.update(pending="{}", pending_count=0)
            await conn.execute(
                update(MEMBERS).where(MEMBERS.c.room_id == room, MEMBERS.c.member == member).values(**values)
            )

    async def subscriptions(self, room: str, member: str) -> int:
        async with self.store.reader() as conn:
            n = await conn.scalar(
                select(func.count()).where(SUBSCRIPTIONS.c.room_id == room, SUBSCRIPTIONS.c.member == member)
            )
            return int(n or 0)

    async def subscribe(self, room: str, member: str, sub: Subscription, now: int, cap: int) -> bool:
        """Add (or refresh the keys of) a subscription; False when the member has ``cap``."""
        mine = (SUBSCRIPTIONS.c.room_id == room, SUBSCRIPTIONS.c.member == member)
        async with self.store.transaction() as conn:
            existing = await conn.scalar(
                select(SUBSCRIPTIONS.c.id).where(*mine, SUBSCRIPTIONS.c.endpoint == sub.endpoint)
            )
            if existing is not None:
                await conn.execute(
                    update(SUBSCRIPTIONS)
                    .where(SUBSCRIPTIONS.c.id == existing)
                    .values(p256dh=sub.p256dh, auth=sub.auth, url=sub.url)
                )
                return True
            count = await conn.scalar(select(func.count()).where(*mine))
            if int(count or 0) >= cap:
                return False
            await conn.execute(
                SUBSCRIPTIONS.insert().values(
                    room_id=room, member=member, endpoint=sub.endpoint, p256dh=sub.p256dh, auth=sub.auth,
                    url=sub.url, created_at=now,
                )
            )  # fmt: skip
            return True

    async def unsubscribe(self, room: str, member: str, endpoint: str | None) -> int:
        """Remove one subscription (``endpoint``) or all of the member's in the room."""
        query = select(SUBSCRIPTIONS.c.id).where(SUBSCRIPTIONS.c.room_id == room, SUBSCRIPTIONS.c.member == member)
        if endpoint is not None:
            query = query.where(SUBSCRIPTIONS.c.endpoint == endpoint)
        async with self.store.transaction() as conn:
            ids = [r[0] for r in await conn.execute(query)]
            await self._drop(conn, ids)
            return len(ids)

    async def forget(self, room: str, member: str | None) -> None:
        """Erasure (one member) or a purged room (``member`` None): settings, windows, push
        subscriptions and their undelivered pushes go; a push endpoint is personal data."""
        subs = select(SUBSCRIPTIONS.c.id).where(SUBSCRIPTIONS.c.room_id == room)
        mine = MEMBERS.c.room_id == room
        if member is not None:
            subs = subs.where(SUBSCRIPTIONS.c.member == member)
            mine = mine & (MEMBERS.c.member == member)
        async with self.store.transaction() as conn:
            ids = [r[0] for r in await conn.execute(subs)]
            if ids:
                await conn.execute(delete(PUSH).where(PUSH.c.subscription_id.in_(ids)))
                await conn.execute(delete(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.id.in_(ids)))
            await conn.execute(delete(MEMBERS).where(mine))

    async def _drop(self, conn: Any, ids: list[int]) -> None:
        if ids:
            await conn.execute(delete(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.id.in_(ids)))
            await conn.execute(delete(PUSH).where(PUSH.c.subscription_id.in_(ids), PUSH.c.status == "pending"))

    async def _any(self, query: Any) -> bool:
        """A read first: an idle node takes no write transaction (SQLite's one write lock)."""
        async with self.store.reader() as conn:
            return (await conn.execute(query.limit(1))).first() is not None

    # ---- the digest sweep ------------------------------------------------------------

    async def send_due_digests(self, now: int, quiet_ms: int, limit: int = 200) -> tuple[int, int]:
        """Digests for windows that ended with something pending: (webhook rows, push rows)."""
        query = (
            select(MEMBERS)
            .where(MEMBERS.c.pending_count > 0, MEMBERS.c.window_until <= now)
            .order_by(MEMBERS.c.window_until)
            .limit(limit)
        )
        if not await self._any(
            select(MEMBERS.c.room_id).where(MEMBERS.c.pending_count > 0, MEMBERS.c.window_until <= now)
        ):
            return 0, 0
        if not self.store.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        async with self.store.transaction() as conn:
            rows = list(await conn.execute(query))
            notices = []
            for row in rows:
                window = window_of(row)
                decision = digest(window, now, quiet_ms)
                await conn.execute(
                    update(MEMBERS)
                    .where(MEMBERS.c.room_id == row.room_id, MEMBERS.c.member == row.member)
                    .values(**window_values(decision.window, now))
                )
                if not row.muted and decision.send:
                    key = f"digest:{row.window_until}"
                    notices.append(Notice(row.room_id, row.member, decision.send, True, window.pending_pos, key))
            written = await write_notices(conn, self.store.insert, notices, now)
        if written.webhooks and self.store.on_outbox is not None:
            self.store.on_outbox()
        return written.webhooks, written.pushes

    # ---- the push outbox -------------------------------------------------------------

    async def claim_pushes(self, node: str, now: int, lease_ms: int, limit: int) -> list[ClaimedPush]:
        query = (
            select(PUSH.c.id, PUSH.c.subscription_id, PUSH.c.msg_id, PUSH.c.body, PUSH.c.attempts)
            .where(PUSH.c.status == "pending", PUSH.c.next_attempt_at <= now, PUSH.c.lease_until < now)
            .order_by(PUSH.c.next_attempt_at, PUSH.c.id)
            .limit(limit)
        )
        due = PUSH.c.status == "pending", PUSH.c.next_attempt_at <= now, PUSH.c.lease_until < now
        if not await self._any(select(PUSH.c.id).where(*due)):
            return []
        if not self.store.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        async with self.store.transaction() as conn:
            rows = list(await conn.execute(query))
            if not rows:
                return []
            await conn.execute(
                update(PUSH)
                .where(PUSH.c.id.in_([r.id for r in rows]))
                .values(lease_owner=node, lease_until=now + lease_ms)
            )
            subs = {
                s.id: s
                for s in await conn.execute(
                    select(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.id.in_(sorted({r.subscription_id for r in rows})))
                )
            }
        return [
            ClaimedPush(r.id, r.subscription_id, r.msg_id, r.body, r.attempts, s.endpoint, s.p256dh, s.auth)
            for r in rows
            if (s := subs.get(r.subscription_id)) is not None
        ]

    async def settle_push(
        self, claimed: ClaimedPush, node: str, *, code: int | None, ok: bool, gone: bool, next_at: int | None
    ) -> None:
        """Delivered, due again at ``next_at``, dead (``next_at`` None), or ``gone``: the push
        service said 404/410, so the subscription is removed with its pending rows."""
        async with self.store.transaction() as conn:
            if gone:
                await self._drop(conn, [claimed.subscription_id])
            if ok:
                values: dict[str, Any] = {"status": "delivered"}
            elif gone:
                values = {"status": "gone"}
            elif next_at is None:
                values = {"status": "dead"}
            else:
                values = {"next_attempt_at": next_at}
            await conn.execute(
                update(PUSH)
                .where(PUSH.c.id == claimed.row_id, PUSH.c.lease_owner == node)
                .values(attempts=claimed.attempts + 1, last_code=code, lease_owner=None, lease_until=0, **values)
            )

    async def release_leases(self, owner: str | None = None) -> None:
        held = PUSH.c.lease_owner.is_not(None) if owner is None else PUSH.c.lease_owner == owner
        async with self.store.transaction() as conn:
            await conn.execute(update(PUSH).where(held).values(lease_owner=None, lease_until=0))

    async def purge(self, before: int) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(delete(PUSH).where(PUSH.c.status != "pending", PUSH.c.created_at < before))
