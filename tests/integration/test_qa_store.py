"""The product Q&A store (``cosession/qa/store.py``) on SQLite and PostgreSQL, with the
conformance suite's fixtures: buyers and their tokens, threads made once however many
nodes record a question, answers with their delivery outbox, hiding, and erasure."""

from __future__ import annotations

import asyncio

from cosession.qa.store import QaStore
from cosession.store.store_sql import SqlStore
from protocol.qa_fold import QA_ERASED_TEXT
from tests.integration.test_store_conformance import store, store_url  # noqa: F401 (fixtures)

T0 = 1_700_000_000_000


async def ask(qa: QaStore, room: str, seq: int, *, tenant: str = "t1", product: str = "p1", member: str = "m1") -> str:
    thread = await qa.record_question(
        tenant=tenant, product_id=product, room=room, seq=seq, member=member, text=f"q {room} {seq}", ts=T0 + seq
    )
    return thread.id


async def test_buyer_tokens_are_stored_hashed_and_revocable(store: SqlStore) -> None:  # noqa: F811
    qa = QaStore(store)
    buyer, token = await qa.create_buyer("t1", "Dana", ["p1", "p2"])
    assert token.startswith("bt_") and len(token) > 40
    found = await qa.buyer_by_token(token)
    assert found == buyer and found.products == ("p1", "p2")
    assert await qa.buyer_by_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    anyone, other = await qa.create_buyer("t1", "Eli", None)
    assert (await qa.buyer_by_token(other)) == anyone and anyone.products is None
    assert not await qa.revoke_buyer("t2", buyer.id)  # another tenant's buyer
    assert await qa.revoke_buyer("t1", buyer.id)
    assert not await qa.revoke_buyer("t1", buyer.id)  # already revoked
    assert await qa.buyer_by_token(token) is None
    async with store.reader() as conn:
        from sqlalchemy import text

        stored = [r[0] for r in (await conn.execute(text("SELECT token_hash FROM qa_buyers"))).all()]
    assert token not in stored and other not in stored


async def test_a_thread_per_tenant_and_product_however_many_nodes_record(store: SqlStore) -> None:  # noqa: F811
    nodes = [QaStore(store) for _ in range(3)]
    threads = await asyncio.gather(*(ask(qa, "r1", 5) for qa in nodes), ask(nodes[0], "r2", 9))
    assert len(set(threads)) == 1
    qa = nodes[0]
    thread = await qa.thread("t1", "p1")
    assert thread is not None and thread.id == threads[0]
    assert await qa.thread_by_id(thread.id) == thread
    assert await ask(qa, "r1", 6, tenant="t2") != thread.id
    assert await ask(qa, "r1", 7, product="p2") != thread.id
    questions, answers = await qa.public_thread(thread)
    assert [q.text for q in questions] == ["q r1 5", "q r2 9"] and answers == []  # (r1, 5) once
    assert await qa.question_in_thread(questions[0].id, thread.id)
    assert not await qa.question_in_thread(questions[0].id, "qt_other")


async def test_answers_deliveries_and_hiding(store: SqlStore) -> None:  # noqa: F811
    qa = QaStore(store)
    thread_id = await ask(qa, "r1", 5)
    await ask(qa, "r1", 8)
    await ask(qa, "r2", 3)
    thread = await qa.thread_by_id(thread_id)
    assert thread is not None
    buyer, _ = await qa.create_buyer("t1", "Dana", None)
    answer, rooms = await qa.add_answer(thread, buyer, "Runs small.", None)
    assert rooms == 2  # each asking room once
    due = await qa.due(answer=answer.id)
    assert sorted((d.room, d.hide) for d in due) == [("r1", False), ("r2", False)]
    await qa.mark(answer.id, "r1", hide=False)
    assert [(d.room, d.hide) for d in await qa.due()] == [("r2", False)]
    hidden = await qa.hide_answer("t1", answer.id)
    assert hidden is not None and hidden.hidden
    assert await qa.hide_answer("t2", answer.id) is None  # not that tenant's
    # r1 has it: it needs the hide; r2 never got it: nothing to deliver any more
    assert [(d.room, d.hide) for d in await qa.due()] == [("r1", True)]
    await qa.mark(answer.id, "r1", hide=True)
    assert await qa.due() == []
    _, answers = await qa.public_thread(thread)
    assert answers == []
    again = await qa.answer(answer.id)
    assert again is not None and again.hidden and again.thread == thread


async def test_erasure_tombstones_the_members_questions(store: SqlStore) -> None:  # noqa: F811
    qa = QaStore(store)
    thread_id = await ask(qa, "r1", 5, member="bo")
    await ask(qa, "r1", 6, member="ana")
    await ask(qa, "r2", 7, member="bo")  # another room: another membership
    assert await qa.scrub_member("r1", "bo") == 1
    thread = await qa.thread_by_id(thread_id)
    assert thread is not None
    questions, _ = await qa.public_thread(thread)
    assert [q.text for q in questions] == [QA_ERASED_TEXT, "q r1 6", "q r2 7"]
