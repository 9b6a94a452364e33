"""Product Q&A on the server: questions from rooms into threads, answers back into rooms.

* ``committed`` (a room extension hook) sees every committed event: a ``qa.ask`` is
  recorded in its (tenant, product) thread by each node that applies it (the thread
  holds it once: insert-if-absent on (room, seq)); a ``member.erase`` tombstones
  the member's questions in the public threads too.
* ``answer`` stores a buyer's answer with one delivery row per room that asked on the
  thread (one transaction), then delivers: each room is loaded if it is not (it may have
  nobody connected for days) and gets the server op ``qa.answer`` with ref
  ``qa.answer:<answer>``, so a retry, a sweep or a second node appends it once (the
  room's ``(member, ref)`` record) and the reducer folds a second copy as a no-op anyway.
* ``hide`` marks the answer hidden and sends ``qa.hide`` (ref ``qa.hide:<answer>``) to
  every room that has it. A delivery that raced a hide checks again after it is durable.
* A sweep every ``qa_sweep_interval`` seconds retries what is still due (a node died
  mid-delivery, a room's write queue was full).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog

from cosession.config import Settings
from cosession.http.ratelimit import AddressLimiter
from cosession.qa.store import Answer, Buyer, Delivery, QaStore, Thread
from cosession.rooms.registry import RoomRegistry
from cosession.rooms.room import Room
from protocol.errors import ErrorCode
from protocol.messages import CheckoutRequest, Event, MemberErase, QaAnswer, QaAsk, QaHide

log = structlog.get_logger("cosession.qa")

MAX_TASKS = 256
SWEEP_BATCH = 100


class QaService:
    def __init__(self, settings: Settings, store: QaStore, registry: RoomRegistry) -> None:
        self.store = store
        self._registry = registry
        self._interval = settings.qa_sweep_interval
        self.buyer_limits = AddressLimiter(settings.qa_buyer_answers_per_minute)
        self.tenant_limits = AddressLimiter(settings.qa_tenant_answers_per_minute)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # one delivery pass at a time on this node

    # ---- room hook -------------------------------------------------------------------

    def checkout(self, room: Room, by: str, ref: str, body: CheckoutRequest) -> None:  # pragma: no cover
        raise NotImplementedError  # never called: the chain gives checkout to retail

    def committed(self, room: Room, event: Event) -> None:
        op = event.op
        if isinstance(op, QaAsk) and room.tenant is not None:
            if not room.committed.qa or room.committed.qa[-1].id != event.seq:
                return  # folded as a no-op (not a member any more): nothing to post
            # every node that applies it records it: insert-if-absent, and asks are rare
            self._spawn(self._record(room.tenant, room.id, event, op))
        elif isinstance(op, MemberErase) and room.tenant is not None:
            self._spawn(self.store.scrub_member(room.id, op.member))

    async def _record(self, tenant: str, room: str, event: Event, op: QaAsk) -> None:
        await self.store.record_question(
            tenant=tenant, product_id=op.product.id, room=room, seq=event.seq, member=event.by, text=op.text,
            ts=event.ts,
        )  # fmt: skip

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        if len(self._tasks) >= MAX_TASKS:
            coro.close()  # the sweep (deliveries) or nothing (a lost record) catches up
            log.warning("qa tasks full: dropped one")
            return
        task = asyncio.get_running_loop().create_task(self._guarded(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _guarded(coro: Coroutine[Any, Any, object]) -> None:
        try:
            await coro
        except Exception as exc:  # the database or a room is away: the sweep retries deliveries
            log.warning("qa task failed", error=type(exc).__name__)  # no message: it may quote the text

    # ---- answers ---------------------------------------------------------------------

    async def answer(self, thread: Thread, buyer: Buyer, text: str, question: str | None) -> tuple[Answer, int]:
        answer, rooms = await self.store.add_answer(thread, buyer, text, question)
        self._spawn(self.deliver(answer.id))
        return answer, rooms

    async def hide(self, tenant: str, answer_id: str) -> Answer | None:
        answer = await self.store.hide_answer(tenant, answer_id)
        if answer is not None:
            self._spawn(self.deliver(answer.id))
        return answer

    async def deliver(self, answer_id: str | None = None) -> int:
        """Make the due deliveries (of one answer, or all); returns how many were made."""
        made = 0
        async with self._lock:
            for delivery in await self.store.due(answer=answer_id, limit=SWEEP_BATCH):
                try:
                    made += await self._deliver_one(delivery)
                except Exception as exc:  # this room is away (cluster, database): the next sweep retries
                    log.warning("qa delivery failed", room=delivery.room, error=type(exc).__name__)
        return made

    async def _deliver_one(self, d: Delivery) -> bool:
        answer = await self.store.answer(d.answer)
        if answer is None:  # pragma: no cover - answers are never deleted
            return False
        room = await self._registry.get(d.room)
        if room is None:  # the room was purged: nothing to tell
            await self.store.mark(d.answer, d.room, hide=d.hide)
            return False
        try:
            if not d.hide:
                if not await self._submit(room, f"qa.answer:{answer.id}", _body(answer)):
                    return False
                await self.store.mark(d.answer, d.room, hide=False)
                answer = await self.store.answer(d.answer) or answer  # hidden meanwhile?
                if not answer.hidden:
                    return True
            if await self._submit(room, f"qa.hide:{answer.id}", QaHide(answer=answer.id)):
                await self.store.mark(d.answer, d.room, hide=True)
            return True
        finally:
            self._registry.release(room)

    @staticmethod
    async def _submit(room: Room, ref: str, body: QaAnswer | QaHide) -> bool:
        """Sequence ``body`` in ``room``; True once it is durable or can never be (a
        closed room, an answer already there or evicted): False means retry later."""
        _, rejection = await room.submit_server(ref, body)
        if rejection is None:
            return True
        if rejection.code == ErrorCode.UNAVAILABLE:
            log.info("qa delivery deferred", room=room.id, reason=rejection.message)
            return False
        return True

    # ---- the sweep -------------------------------------------------------------------

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.deliver()
            except Exception as exc:
                log.warning("qa sweep failed", error=type(exc).__name__)

    def start(self) -> None:
        if self._loop_task is None and self._interval > 0:
            self._loop_task = asyncio.get_running_loop().create_task(self._sweep())

    async def stop(self) -> None:
        tasks = [*self._tasks, *([self._loop_task] if self._loop_task else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop_task = None


def _body(answer: Answer) -> QaAnswer:
    return QaAnswer(
        thread=answer.thread.id, answer=answer.id, product_id=answer.thread.product_id, text=answer.text,
        name=answer.name,
    )  # fmt: skip
