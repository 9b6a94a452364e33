"""Rules 20-26 of SPEC section 16 give their documented codes; open_questions_for and
mentions_of; scrub_event tombstones question and answer texts."""

from __future__ import annotations

import pytest

from protocol.erasure import scrub_event
from protocol.errors import ErrorCode
from protocol.messages import (
    CartAdd,
    Chat,
    Event,
    EventBody,
    MemberJoin,
    MemberKick,
    Product,
    QuestionAnswer,
    QuestionAsk,
    QuestionClose,
    RoomCreate,
    RoomLock,
    RoomState,
)
from protocol.questions import MAX_OPEN_ASKED, mentions_of, open_questions_for
from protocol.reducer import ERASED_TEXT, RoomLimits, apply, check_limits, check_rules

P = Product(id="p", name="P", price=1, currency="EUR")


def room() -> RoomState:
    state = RoomState()
    bodies: list[tuple[str, EventBody]] = [
        ("", RoomCreate(name="R", owner="ana", owner_name="Ana")),
        ("", MemberJoin(member="ben", name="Ben", role="member")),
        ("", MemberJoin(member="cy", name="Cy", role="associate")),
        ("", MemberJoin(member="vic", name="Vic", role="viewer")),
        ("", MemberJoin(member="kim", name="Kim", role="member")),
        ("ana", MemberKick(member="kim")),
        ("ana", CartAdd(product=P)),  # line 7
        ("ana", QuestionAsk(to=["ben"], text="M or L?", line=7)),  # question 8
        ("ben", QuestionAsk(to=["ana"], text="closed one")),  # question 9
        ("ben", QuestionClose(question=9)),
    ]
    for by, body in bodies:
        apply(state, Event(seq=state.seq + 1, ts=0, by=by, op=body))
    return state


@pytest.mark.parametrize(
    "by,op,code",
    [
        ("ana", Chat(text="@x", mentions=["zed"]), ErrorCode.INVALID_FIELD),
        ("ana", Chat(text="@b", mentions=["ben", "ben"]), ErrorCode.INVALID_FIELD),
        ("ana", QuestionAsk(to=["zed"], text="?"), ErrorCode.INVALID_FIELD),
        ("ana", QuestionAsk(to=["ana"], text="?"), ErrorCode.INVALID_FIELD),
        ("ana", QuestionAsk(to=["vic"], text="?"), ErrorCode.INVALID_FIELD),
        ("ana", QuestionAsk(to=["kim"], text="?"), ErrorCode.INVALID_FIELD),
        ("ana", QuestionAsk(to=["ben", "ben"], text="?"), ErrorCode.INVALID_FIELD),
        ("ana", QuestionAsk(to=["ben"], text="?", line=99), ErrorCode.NOT_FOUND),
        ("vic", QuestionAsk(to=["ben"], text="?"), ErrorCode.FORBIDDEN),
        ("kim", QuestionAnswer(question=8, text="M"), ErrorCode.KICKED),
        ("vic", QuestionAnswer(question=8, text="M"), ErrorCode.FORBIDDEN),
        ("zed", QuestionAnswer(question=8, text="M"), ErrorCode.FORBIDDEN),
        ("ben", QuestionAnswer(question=99, text="M"), ErrorCode.NOT_FOUND),
        ("ben", QuestionAnswer(question=7, text="M"), ErrorCode.NOT_FOUND),
        ("ana", QuestionAnswer(question=9, text="M"), ErrorCode.QUESTION_CLOSED),
        ("ana", QuestionClose(question=9), ErrorCode.QUESTION_CLOSED),
        ("cy", QuestionClose(question=8), ErrorCode.FORBIDDEN),
    ],
)
def test_rules_refuse_with_the_documented_code(by: str, op: EventBody, code: ErrorCode) -> None:
    rejection = check_rules(room(), by, op)
    assert rejection is not None and rejection.code == code, rejection


@pytest.mark.parametrize(
    "by,op",
    [
        ("ana", Chat(text="@all", mentions=["ben", "vic", "kim", "ana"])),  # viewers, kicked, yourself
        ("cy", QuestionAnswer(question=8, text="L")),  # anyone but viewers may answer
        ("ana", QuestionAnswer(question=8, text="thanks")),  # the asker too
    ],
)
def test_rules_allow(by: str, op: EventBody) -> None:
    assert check_rules(room(), by, op) is None


def test_the_asker_and_the_owner_may_close_and_a_lock_does_not_stop_questions() -> None:
    state = room()
    apply(state, Event(seq=state.seq + 1, ts=0, by="ana", op=RoomLock(locked=True)))
    assert check_rules(state, "ben", QuestionAsk(to=["cy"], text="still?")) is None
    apply(state, Event(seq=state.seq + 1, ts=0, by="ben", op=QuestionAsk(to=["cy"], text="mine")))
    mine = state.seq
    assert check_rules(state, "ben", QuestionClose(question=mine)) is None  # the asker
    assert check_rules(state, "ana", QuestionClose(question=mine)) is None  # the owner
    assert check_rules(state, "cy", QuestionClose(question=mine)) is not None


def test_waiting_questions_per_asker_are_bounded() -> None:
    state = room()
    for i in range(MAX_OPEN_ASKED - 1):  # question 8 already waits
        apply(state, Event(seq=state.seq + 1, ts=0, by="ana", op=QuestionAsk(to=["ben"], text=f"q{i}")))
    rejection = check_rules(state, "ana", QuestionAsk(to=["ben"], text="one more"))
    assert rejection is not None and rejection.code == ErrorCode.FORBIDDEN
    assert check_rules(state, "ben", QuestionAsk(to=["ana"], text="mine")) is None


def test_text_over_the_room_limit_is_too_long() -> None:
    limits = RoomLimits(max_chat_chars=5)
    for op in (QuestionAsk(to=["ben"], text="x" * 6), QuestionAnswer(question=8, text="y" * 6)):
        rejection = check_limits(room(), op, limits)
        assert rejection is not None and rejection.code == ErrorCode.TOO_LONG
    assert check_limits(room(), QuestionAsk(to=["ben"], text="x" * 5), limits) is None


def test_open_questions_and_mentions_of_a_member() -> None:
    state = room()
    assert [q.id for q in open_questions_for(state, "ben")] == [8]
    assert open_questions_for(state, "ana") == []  # question 9 is closed
    apply(state, Event(seq=11, ts=0, by="ben", op=QuestionAnswer(question=8, text="M")))
    assert open_questions_for(state, "ben") == []
    apply(state, Event(seq=12, ts=0, by="ana", op=Chat(text="@Ben", mentions=["ben"])))
    assert mentions_of(state, "ben") == [12] and mentions_of(state, "cy") == []


def test_scrub_event_tombstones_question_and_answer_texts() -> None:
    ask = Event(seq=1, ts=0, by="ben", op=QuestionAsk(to=["ana"], text="secret", product=P, line=3))
    answer = Event(seq=2, ts=0, by="ben", op=QuestionAnswer(question=1, text="secret"))
    close = Event(seq=3, ts=0, by="ben", op=QuestionClose(question=1))
    scrubbed = scrub_event(ask, "ben").op
    assert isinstance(scrubbed, QuestionAsk)
    assert (scrubbed.text, scrubbed.product, scrubbed.to, scrubbed.line) == (ERASED_TEXT, None, ["ana"], 3)
    scrubbed_answer = scrub_event(answer, "ben").op
    assert isinstance(scrubbed_answer, QuestionAnswer) and scrubbed_answer.text == ERASED_TEXT
    assert scrub_event(close, "ben") is close
    assert scrub_event(ask, "ana") is ask  # someone else's erasure leaves it alone
    assert scrub_event(scrub_event(ask, "ben"), "ben").op == scrubbed  # idempotent
