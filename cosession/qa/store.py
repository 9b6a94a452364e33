"""Product Q&A records through the server's ``SqlStore`` (SQLite or PostgreSQL).

Every write is idempotent where two nodes may do it at once: a thread is created with
insert-if-absent on (tenant, product), a question on (room, seq), a delivery on
(answer, room). An answer and its delivery rows are written in one transaction (an
outbox: the rooms to tell are durable before the answer is acknowledged).
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from cosession.qa.models import QaAnswerRow, QaBuyerRow, QaDeliveryRow, QaQuestionRow, QaThreadRow
from cosession.rooms.room import now_ms
from cosession.store.store_sql import SqlStore
from cosession.tenants.keys import hash_secret
from protocol.qa_fold import QA_ERASED_TEXT

BUYERS = QaBuyerRow.__table__  # type: ignore[attr-defined]
THREADS = QaThreadRow.__table__  # type: ignore[attr-defined]
QUESTIONS = QaQuestionRow.__table__  # type: ignore[attr-defined]
ANSWERS = QaAnswerRow.__table__  # type: ignore[attr-defined]
DELIVERIES = QaDeliveryRow.__table__  # type: ignore[attr-defined]

BUYER_TOKEN_PREFIX = "bt_"
MAX_ROOMS_PER_ANSWER = 200  # an answer reaches at most the 200 rooms that asked most recently
THREAD_PAGE = 100  # questions and answers shown by a public read (the newest)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


@dataclass(frozen=True)
class Buyer:
    id: str
    tenant: str
    name: str
    products: tuple[str, ...] | None  # None: may answer on any product of the tenant


@dataclass(frozen=True)
class Thread:
    id: str
    tenant: str
    product_id: str


@dataclass(frozen=True)
class Answer:
    id: str
    thread: Thread
    name: str
    text: str
    question: str | None
    created_at: int
    hidden: bool


@dataclass(frozen=True)
class Delivery:
    answer: str
    room: str
    hide: bool  # True: the room has the answer and needs its qa.hide


@dataclass(frozen=True)
class PublicQuestion:
    id: str
    ts: int
    text: str


def _buyer(row: Any) -> Buyer:
    products = None if row.products is None else tuple(json.loads(row.products))
    return Buyer(id=row.id, tenant=row.tenant_id, name=row.name, products=products)


class QaStore:
    def __init__(self, store: SqlStore) -> None:
        self._store = store

    # ---- buyers ----------------------------------------------------------------------

    async def create_buyer(self, tenant: str, name: str, products: list[str] | None) -> tuple[Buyer, str]:
        token = BUYER_TOKEN_PREFIX + secrets.token_urlsafe(32)
        buyer = Buyer(id=new_id("by"), tenant=tenant, name=name, products=None if products is None else tuple(products))
        async with self._store.transaction() as conn:
            await conn.execute(
                BUYERS.insert().values(
                    id=buyer.id,
                    tenant_id=tenant,
                    name=name,
                    token_hash=hash_secret(token),
                    products=None if products is None else json.dumps(products),
                    created_at=now_ms(),
                )
            )
        return buyer, token

    async def buyer_by_token(self, token: str) -> Buyer | None:
        """The buyer a ``bt_`` token belongs to, unless revoked."""
        async with self._store.reader() as conn:
            row = (
                await conn.execute(
                    select(BUYERS).where(BUYERS.c.token_hash == hash_secret(token), BUYERS.c.revoked_at.is_(None))
                )
            ).first()
        return None if row is None else _buyer(row)

    async def revoke_buyer(self, tenant: str, buyer: str) -> bool:
        async with self._store.transaction() as conn:
            result = await conn.execute(
                update(BUYERS)
                .where(BUYERS.c.id == buyer, BUYERS.c.tenant_id == tenant, BUYERS.c.revoked_at.is_(None))
                .values(revoked_at=now_ms())
            )
        return bool(result.rowcount)

    # ---- threads and questions ---------------------------------------------------------

    async def thread(self, tenant: str, product_id: str) -> Thread | None:
        async with self._store.reader() as conn:
            row = (
                await conn.execute(
                    select(THREADS.c.id).where(THREADS.c.tenant_id == tenant, THREADS.c.product_id == product_id)
                )
            ).first()
        return None if row is None else Thread(id=row.id, tenant=tenant, product_id=product_id)

    async def thread_by_id(self, thread_id: str) -> Thread | None:
        async with self._store.reader() as conn:
            row = (await conn.execute(select(THREADS).where(THREADS.c.id == thread_id))).first()
        return None if row is None else Thread(id=row.id, tenant=row.tenant_id, product_id=row.product_id)

    async def record_question(
        self, *, tenant: str, product_id: str, room: str, seq: int, member: str, text: str, ts: int
    ) -> Thread:
        """The thread of (tenant, product), created if absent, with the room's question in it."""
        insert = self._store.insert
        async with self._store.transaction() as conn:
            await conn.execute(
                insert(THREADS)
                .values(id=new_id("qt"), tenant_id=tenant, product_id=product_id, created_at=ts)
                .on_conflict_do_nothing()
            )
            row = (
                await conn.execute(
                    select(THREADS.c.id).where(THREADS.c.tenant_id == tenant, THREADS.c.product_id == product_id)
                )
            ).one()
            await conn.execute(
                insert(QUESTIONS)
                .values(room_id=room, seq=seq, id=new_id("qq"), thread_id=row.id, member=member, text=text, ts=ts)
                .on_conflict_do_nothing(index_elements=["room_id", "seq"])
            )
        return Thread(id=row.id, tenant=tenant, product_id=product_id)

    async def scrub_member(self, room: str, member: str) -> int:
        """Erasure: the member's questions from ``room`` keep their place, not their text."""
        async with self._store.transaction() as conn:
            result = await conn.execute(
                update(QUESTIONS)
                .where(QUESTIONS.c.room_id == room, QUESTIONS.c.member == member)
                .values(text=QA_ERASED_TEXT)
            )
        return int(result.rowcount or 0)

    async def public_thread(self, thread: Thread) -> tuple[list[PublicQuestion], list[Answer]]:
        """The newest questions and visible answers of a thread, oldest first."""
        async with self._store.reader() as conn:
            questions = (
                await conn.execute(
                    select(QUESTIONS.c.id, QUESTIONS.c.ts, QUESTIONS.c.text)
                    .where(QUESTIONS.c.thread_id == thread.id)
                    .order_by(QUESTIONS.c.ts.desc(), QUESTIONS.c.id)
                    .limit(THREAD_PAGE)
                )
            ).all()
            answers = (
                await conn.execute(
                    select(ANSWERS)
                    .where(ANSWERS.c.thread_id == thread.id, ANSWERS.c.hidden_at.is_(None))
                    .order_by(ANSWERS.c.created_at.desc(), ANSWERS.c.id)
                    .limit(THREAD_PAGE)
                )
            ).all()
        return (
            [PublicQuestion(id=q.id, ts=q.ts, text=q.text) for q in reversed(questions)],
            [self._answer(a, thread) for a in reversed(answers)],
        )

    async def question_in_thread(self, question: str, thread: str) -> bool:
        async with self._store.reader() as conn:
            row = (
                await conn.execute(
                    select(QUESTIONS.c.id).where(QUESTIONS.c.id == question, QUESTIONS.c.thread_id == thread)
                )
            ).first()
        return row is not None

    # ---- answers and deliveries --------------------------------------------------------

    @staticmethod
    def _answer(row: Any, thread: Thread) -> Answer:
        return Answer(
            id=row.id,
            thread=thread,
            name=row.name,
            text=row.text,
            question=row.question_id,
            created_at=row.created_at,
            hidden=row.hidden_at is not None,
        )

    async def add_answer(self, thread: Thread, buyer: Buyer, text: str, question: str | None) -> tuple[Answer, int]:
        """Store the answer and one pending delivery per room that asked on the thread
        (the most recent ``MAX_ROOMS_PER_ANSWER``); returns it and how many rooms."""
        now = now_ms()
        answer = Answer(
            id=new_id("qa"), thread=thread, name=buyer.name, text=text, question=question, created_at=now, hidden=False
        )
        async with self._store.transaction() as conn:
            await conn.execute(
                ANSWERS.insert().values(
                    id=answer.id,
                    thread_id=thread.id,
                    buyer_id=buyer.id,
                    name=buyer.name,
                    text=text,
                    question_id=question,
                    created_at=now,
                )
            )
            rooms = (
                await conn.execute(
                    select(QUESTIONS.c.room_id)
                    .where(QUESTIONS.c.thread_id == thread.id)
                    .group_by(QUESTIONS.c.room_id)
                    .order_by(func.max(QUESTIONS.c.ts).desc())
                    .limit(MAX_ROOMS_PER_ANSWER)
                )
            ).all()
            if rooms:
                await conn.execute(
                    DELIVERIES.insert(),
                    [{"answer_id": answer.id, "room_id": r.room_id, "created_at": now} for r in rooms],
                )
        return answer, len(rooms)

    async def answer(self, answer_id: str) -> Answer | None:
        async with self._store.reader() as conn:
            row = (
                await conn.execute(
                    select(ANSWERS, THREADS.c.tenant_id, THREADS.c.product_id)
                    .join(THREADS, THREADS.c.id == ANSWERS.c.thread_id)
                    .where(ANSWERS.c.id == answer_id)
                )
            ).first()
        if row is None:
            return None
        return self._answer(row, Thread(id=row.thread_id, tenant=row.tenant_id, product_id=row.product_id))

    async def hide_answer(self, tenant: str, answer_id: str) -> Answer | None:
        """Mark the tenant's answer hidden (again: no change); None if it has no such answer."""
        found = await self.answer(answer_id)
        if found is None or found.thread.tenant != tenant:
            return None
        async with self._store.transaction() as conn:
            await conn.execute(
                update(ANSWERS)
                .where(ANSWERS.c.id == answer_id, ANSWERS.c.hidden_at.is_(None))
                .values(hidden_at=now_ms())
            )
        return dataclasses.replace(found, hidden=True)

    async def mark(self, answer: str, room: str, *, hide: bool) -> None:
        column = "hide_sent_at" if hide else "delivered_at"
        async with self._store.transaction() as conn:
            await conn.execute(
                update(DELIVERIES)
                .where(DELIVERIES.c.answer_id == answer, DELIVERIES.c.room_id == room)
                .values({column: now_ms()})
            )

    async def due(self, *, answer: str | None = None, limit: int = 100) -> list[Delivery]:
        """Deliveries still to make: answers not yet in a room, and hides of hidden answers
        a room has but was not yet told of (of one answer, or of all)."""
        hidden = ANSWERS.c.hidden_at.is_not(None)
        where = or_(
            and_(DELIVERIES.c.delivered_at.is_(None), ~hidden),
            and_(DELIVERIES.c.delivered_at.is_not(None), hidden, DELIVERIES.c.hide_sent_at.is_(None)),
        )
        if answer is not None:
            where = and_(where, DELIVERIES.c.answer_id == answer)
        async with self._store.reader() as conn:
            rows = (
                await conn.execute(
                    select(DELIVERIES.c.answer_id, DELIVERIES.c.room_id, DELIVERIES.c.delivered_at)
                    .join(ANSWERS, ANSWERS.c.id == DELIVERIES.c.answer_id)
                    .where(where)
                    .order_by(DELIVERIES.c.created_at)
                    .limit(limit)
                )
            ).all()
        return [Delivery(answer=r.answer_id, room=r.room_id, hide=r.delivered_at is not None) for r in rows]
