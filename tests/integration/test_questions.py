"""Mentions and questions (SPEC section 16) against a real server: two members ask, answer
and close through the Python client; mentions are validated; bad input (malformed,
oversized, unauthorized, viewer, kicked, flooding) gets the documented codes; erasure
tombstones a member's questions and answers everywhere."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cosession_client import OpRejected, RoomClient
from protocol.codec import MSGPACK
from protocol.errors import CloseCode, ErrorCode
from protocol.messages import (
    Ack,
    CartAdd,
    Chat,
    Error,
    Event,
    MemberKick,
    Product,
    QuestionAnswer,
    QuestionAsk,
    QuestionClose,
    RoomState,
)
from protocol.reducer import fold
from tests.support.admin import accept, make_tenant, new_room, sk
from tests.support.raw import RawClient
from tests.support.server import ServerProcess

WAIT = 10.0
JACKET = Product(id="jacket", name="Rain jacket", price=8900, currency="EUR", variant="M")
SECRET = "I live at 1 Main St"


@pytest.fixture
async def pair(server: ServerProcess) -> AsyncIterator[tuple[RoomClient, RoomClient]]:
    created = await server.create_room(name="Jackets", owner_name="Ana")
    async with (
        RoomClient.connect(created["token"], server=server.http_url) as ana,
        RoomClient.connect(created["invite"]["url"], name="Ben") as ben,
    ):
        await ana.wait_for_seq(ben.seq, WAIT)
        yield ana, ben


async def viewer_token(server: ServerProcess, room: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        r = await http.post(
            f"{server.http_url}/v1/rooms/{room['room']}/invites",
            json={"role": "viewer"},
            headers={"authorization": f"Bearer {room['token']}"},
        )
        r.raise_for_status()
    return await server.accept(r.json()["code"], "Vic")


async def test_two_members_ask_answer_and_close(pair: tuple[RoomClient, RoomClient]) -> None:
    ana, ben = pair
    line = await ana.add_to_cart(JACKET)
    older = await ana.ask(ben.member, "Do you like rain jackets?")
    await ben.mention(ana.member, "@Ana one sec")
    qid = await ana.ask([ben.member], "Ben, size M or L?", product=JACKET, line=line)
    await ben.wait_for_seq(qid, WAIT)
    # open questions to Ben come first, oldest first; Ana has none open
    assert [q.id for q in ben.open_questions] == [older, qid]
    assert [q.id for q in ben.questions][:2] == [older, qid]
    assert ana.open_questions == []
    question = ben.question(qid)
    assert question is not None and question.line == line and question.product == JACKET
    assert question.by == ana.member and question.to == [ben.member] and not question.answers
    assert ben.state.chat[-1].mentions == [ana.member] and ana.mentions == [ben.state.chat[-1].id]

    seq = await ben.answer(qid, "M, it runs large")
    await ana.wait_for_seq(seq, WAIT)
    answered = ana.question(qid)
    assert answered is not None and [(a.by, a.text, a.seq) for a in answered.answers] == [
        (ben.member, "M, it runs large", seq)
    ]
    assert [q.id for q in ben.open_questions] == [older]  # answered by Ben: no longer open for him
    seq = await ana.close_question(qid)
    await ben.wait_for_seq(seq, WAIT)
    closed = ben.question(qid)
    assert closed is not None and closed.closed
    with pytest.raises(OpRejected) as late:
        await ben.answer(qid, "or L?")
    assert late.value.code == ErrorCode.QUESTION_CLOSED
    with pytest.raises(OpRejected) as again:
        await ana.close_question(qid)
    assert again.value.code == ErrorCode.QUESTION_CLOSED
    with pytest.raises(OpRejected) as not_theirs:
        await ben.close_question(older)  # neither the asker nor the owner
    assert not_theirs.value.code == ErrorCode.FORBIDDEN
    with pytest.raises(OpRejected) as unknown:
        await ben.answer(line, "a cart line is no question")
    assert unknown.value.code == ErrorCode.NOT_FOUND
    assert ana.state == ben.state


async def test_mentions_are_validated(pair: tuple[RoomClient, RoomClient]) -> None:
    ana, ben = pair
    seq = await ana.mention([ben.member, ana.member], "@Ben @Ana")
    await ben.wait_for_seq(seq, WAIT)
    assert ben.mentions == [seq] and ben.state.chat[-1].mentions == [ben.member, ana.member]
    for bad in (["m_nobody"], [ben.member, ben.member]):
        with pytest.raises(OpRejected) as refused:
            await ana.mention(bad, "@who")
        assert refused.value.code == ErrorCode.INVALID_FIELD
    for bad_to in (["m_nobody"], [ana.member], [ben.member, ben.member]):
        with pytest.raises(OpRejected) as refused:
            await ana.ask(bad_to, "?")
        assert refused.value.code == ErrorCode.INVALID_FIELD
    with pytest.raises(OpRejected) as gone:
        await ana.ask(ben.member, "this one?", line=999)
    assert gone.value.code == ErrorCode.NOT_FOUND
    assert ana.state.seq == seq  # nothing refused was appended


def _op(body: dict[str, Any]) -> bytes:
    return MSGPACK.encode({"t": "op", "ref": "bad", "op": body})


@pytest.mark.parametrize(
    "body",
    [
        {"t": "question.ask", "to": [], "text": "?"},
        {"t": "question.ask", "to": [f"m{i}" for i in range(11)], "text": "?"},
        {"t": "question.ask", "to": ["m"], "text": ""},
        {"t": "question.ask", "to": ["m"], "text": "x" * 2001},
        {"t": "question.ask", "to": "m", "text": "?"},
        {"t": "question.ask", "to": ["m"], "text": "?", "line": 0},
        {"t": "question.ask", "to": ["m"], "text": "?", "by": "m"},
        {"t": "question.answer", "question": "1", "text": "y"},
        {"t": "question.answer", "question": 1},
        {"t": "question.answer", "question": 1, "text": "y" * 2001},
        {"t": "question.close", "question": 0},
        {"t": "question.close", "question": 1, "closed": True},
        {"t": "chat", "text": "hi", "mentions": [f"m{i}" for i in range(21)]},
        {"t": "chat", "text": "hi", "mentions": [""]},
        {"t": "chat", "text": "hi", "mentions": "m"},
    ],
)
async def test_malformed_question_ops_are_invalid_field(server: ServerProcess, body: dict[str, Any]) -> None:
    room = await server.create_room()
    client, _ = await RawClient.join(server.ws_url, room["token"])
    await client.send_raw(_op(body))
    error = await client.expect(Error)
    assert error.code == ErrorCode.INVALID_FIELD and error.ref is None
    ref = await client.op(Chat(text="still open"))
    await client.expect(Ack, ref=ref)
    await client.close()


async def test_oversized_question_frame_closes_1009(server: ServerProcess) -> None:
    room = await server.create_room()
    client, _ = await RawClient.join(server.ws_url, room["token"])
    await client.send_raw(_op({"t": "question.ask", "to": ["m"], "text": "x" * 70_000}))
    assert await client.closed_with() == CloseCode.MESSAGE_TOO_BIG


async def test_question_text_over_the_room_limit_is_too_long(tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path, env={"COSESSION_MAX_CHAT_CHARS": "50"})
    await proc.start()
    try:
        room = await proc.create_room()
        bea = await proc.accept(room["invite"]["code"], "Bea")
        await (await RawClient.join(proc.ws_url, bea["token"]))[0].close()  # in the room from now on
        owner, _ = await RawClient.join(proc.ws_url, room["token"])
        ref = await owner.op(QuestionAsk(to=[bea["member"]], text="x" * 51))
        assert (await owner.expect(Error, ref=ref)).code == ErrorCode.TOO_LONG
        ref = await owner.op(QuestionAsk(to=[bea["member"]], text="x" * 50))
        qid = (await owner.expect(Ack, ref=ref)).seq
        ref = await owner.op(QuestionAnswer(question=qid, text="y" * 51))
        assert (await owner.expect(Error, ref=ref)).code == ErrorCode.TOO_LONG
    finally:
        proc.kill()


async def test_viewers_and_kicked_members_cannot_ask_answer_or_be_asked(server: ServerProcess) -> None:
    room = await server.create_room()
    bea = await server.accept(room["invite"]["code"], "Bea")
    cy = await server.accept(room["invite"]["code"], "Cy")
    vic = await viewer_token(server, room)
    await (await RawClient.join(server.ws_url, cy["token"]))[0].close()
    owner, _ = await RawClient.join(server.ws_url, room["token"])
    viewer, _ = await RawClient.join(server.ws_url, vic["token"])
    friend, _ = await RawClient.join(server.ws_url, bea["token"])
    ref = await owner.op(QuestionAsk(to=[bea["member"]], text="which one?"))
    qid = (await owner.expect(Ack, ref=ref)).seq
    for body in (
        QuestionAsk(to=[bea["member"]], text="me?"),
        QuestionAnswer(question=qid, text="this"),
        QuestionClose(question=qid),
    ):
        ref = await viewer.op(body)
        assert (await viewer.expect(Error, ref=ref)).code == ErrorCode.FORBIDDEN
    ref = await owner.op(QuestionAsk(to=[vic["member"]], text="viewer?"))  # a viewer cannot answer
    assert (await owner.expect(Error, ref=ref)).code == ErrorCode.INVALID_FIELD
    ref = await viewer.op(Chat(text="@Bea", mentions=[bea["member"]]))
    assert (await viewer.expect(Error, ref=ref)).code == ErrorCode.FORBIDDEN
    ref = await owner.op(Chat(text="@Vic see?", mentions=[vic["member"]]))  # viewers may be mentioned
    await owner.expect(Ack, ref=ref)
    # kicked: the connection is closed (error kicked), and the member can be asked no more
    ref = await owner.op(MemberKick(member=bea["member"]))
    await owner.expect(Ack, ref=ref)
    assert await friend.closed_with() == CloseCode.FORBIDDEN
    assert any(isinstance(m, Error) and m.code == ErrorCode.KICKED for m in friend.seen)
    ref = await owner.op(QuestionAsk(to=[bea["member"]], text="still there?"))
    assert (await owner.expect(Error, ref=ref)).code == ErrorCode.INVALID_FIELD
    ref = await owner.op(QuestionAsk(to=[bea["member"], cy["member"]], text="both?"))
    assert (await owner.expect(Error, ref=ref)).code == ErrorCode.INVALID_FIELD
    ref = await owner.op(QuestionAsk(to=[cy["member"]], text="Cy then?"))
    await owner.expect(Ack, ref=ref)
    ref = await owner.op(Chat(text="bye @Bea", mentions=[bea["member"]]))  # still a member id of the room
    await owner.expect(Ack, ref=ref)


async def test_a_member_may_keep_only_20_questions_waiting(server: ServerProcess) -> None:
    room = await server.create_room()
    bea = await server.accept(room["invite"]["code"], "Bea")
    await (await RawClient.join(server.ws_url, bea["token"]))[0].close()
    owner, _ = await RawClient.join(server.ws_url, room["token"])
    refs = [await owner.op(QuestionAsk(to=[bea["member"]], text=f"q{i}")) for i in range(21)]
    answers = await _answers(owner, refs)  # an error may overtake the acks before it
    assert all(isinstance(answers[ref], Ack) for ref in refs[:20])
    refused = answers[refs[20]]
    assert isinstance(refused, Error) and refused.code == ErrorCode.FORBIDDEN
    first = answers[refs[0]]
    assert isinstance(first, Ack)
    ref = await owner.op(QuestionClose(question=first.seq))
    await owner.expect(Ack, ref=ref)
    ref = await owner.op(QuestionAsk(to=[bea["member"]], text="now it fits"))
    await owner.expect(Ack, ref=ref)


async def test_flooding_questions_is_rate_limited_then_closed(server_factory) -> None:  # type: ignore[no-untyped-def]
    server = await server_factory("--ops-per-second", "5", "--ops-burst", "10")
    room = await server.create_room()
    bea = await server.accept(room["invite"]["code"], "Bea")
    await (await RawClient.join(server.ws_url, bea["token"]))[0].close()
    client, _ = await RawClient.join(server.ws_url, room["token"])
    for i in range(60):
        try:
            await client.send_raw(_question_frame(f"f{i}", bea["member"]))
        except Exception:
            break
    assert await client.closed_with() == CloseCode.RATE_LIMITED
    limited = [m for m in client.seen if isinstance(m, Error) and m.code == ErrorCode.RATE_LIMITED]
    named = [m.ref for m in limited if m.ref is not None]  # the closing error names no op
    assert len(named) >= 10 and all(ref.startswith("f") for ref in named)
    assert not {f"f{i}" for i in range(10)} & set(named)
    # the burst went through (its acks may not have reached the closed connection)
    later, welcome = await RawClient.join(server.ws_url, room["token"])
    assert welcome.snapshot is not None and len(welcome.snapshot.questions) == 10
    await later.close()


def _question_frame(ref: str, to: str) -> bytes:
    return MSGPACK.encode({"t": "op", "ref": ref, "op": {"t": "question.ask", "to": [to], "text": "spam?"}})


async def test_erasure_tombstones_questions_and_answers(tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path, "--snapshot-every", "3")
    await proc.start()
    try:
        shop = await make_tenant(f"sqlite:///{proc.db}")
        room = await new_room(proc.http_url, shop["sk"], "Erase questions", owner="Ana")
        bob = await accept(proc.http_url, room["invite"]["code"], "Bob")
        owner, _ = await RawClient.join(proc.ws_url, room["token"])
        bob_ws, _ = await RawClient.join(proc.ws_url, bob["token"])
        cy_ws, cy_welcome = await RawClient.join(proc.ws_url, room["token"])
        state = cy_welcome.snapshot or RoomState()
        line = (await _acked(owner, CartAdd(product=JACKET))).seq
        asked = (await _acked(bob_ws, QuestionAsk(to=[room["member"]], text=SECRET, product=JACKET, line=line))).seq
        mine = (await _acked(owner, QuestionAsk(to=[bob["member"]], text="Bob, M or L?"))).seq
        await _acked(bob_ws, QuestionAnswer(question=mine, text=SECRET + " (L)"))
        last = (await _acked(owner, QuestionAnswer(question=asked, text="noted"))).seq
        fold(await cy_ws.events_until(last), state)
        assert SECRET in repr(state)
        async with httpx.AsyncClient() as http:
            r = await http.delete(
                proc.http_url + f"/v1/admin/rooms/{room['room']}/members/{bob['member']}", headers=sk(shop["sk"])
            )
            assert r.status_code == 200, r.text
            event = await cy_ws.expect(Event, seq=r.json()["seq"])
            fold([event], state)
            snap = await http.get(proc.http_url + f"/v1/rooms/{room['room']}/snapshot", headers=sk(room["token"]))
        assert SECRET not in repr(state) and SECRET not in snap.text
        question, answered = state.questions
        assert question.text == "[erased]" and question.product is None and question.line == line
        assert answered.answers[0].text == "[erased]" and answered.answers[0].by == bob["member"]
        assert snap.json()["state"]["questions"][0]["text"] == "[erased]"
        # the others may still answer and close the erased member's question
        seq = (await _acked(owner, QuestionClose(question=asked))).seq
        fold(await cy_ws.events_until(seq), state)
        assert state.questions[0].closed
        # a replay of the whole log folds to the same state, with nothing of Bob's text
        again, welcome = await RawClient.join(proc.ws_url, room["token"])
        assert SECRET not in repr(welcome)
        with sqlite3.connect(proc.db) as db:
            stored = [b for (b,) in db.execute("SELECT body FROM events WHERE room_id = ?", (room["room"],))]
        assert stored and not any(SECRET.encode() in b for b in stored)
        await asyncio.gather(again.close(), cy_ws.close(), owner.close())
    finally:
        proc.kill()


async def _answers(client: RawClient, refs: list[str]) -> dict[str, Ack | Error]:
    """The ack or error of each ref, in whatever order they come."""
    out: dict[str, Ack | Error] = {}
    async with asyncio.timeout(WAIT):
        while len(out) < len(refs):
            msg = await client.recv(WAIT)
            if isinstance(msg, (Ack, Error)) and msg.ref in refs:
                out[msg.ref] = msg
    return out


async def _acked(client: RawClient, body: Any) -> Ack:
    ref = await client.op(body)
    return await client.expect(Ack, ref=ref)
