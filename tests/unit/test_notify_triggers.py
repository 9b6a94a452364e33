"""The notification triggers (SPEC 18.1): pure, against the state before the event."""

from __future__ import annotations

from cosession.notify.triggers import notification_reasons
from protocol.messages import CartAdd, Chat, Event, MemberJoin, MemberKick, Product, RoomCreate, RoomState, Vote
from protocol.reducer import apply


def room() -> RoomState:
    state = RoomState()
    events = [
        RoomCreate(name="R", owner="own", owner_name="Olga"),
        MemberJoin(member="ana", name="Ana", role="member"),
        MemberJoin(member="bea", name="Bea", role="member"),
        CartAdd(product=Product(id="p1", name="Jacket", price=100, currency="EUR")),  # seq 4, by ana
    ]
    for seq, op in enumerate(events, 1):
        apply(state, Event(seq=seq, ts=seq, by="ana" if seq == 4 else "", op=op))
    return state


def ev(seq: int, by: str, op: object) -> Event:
    return Event(seq=seq, ts=seq, by=by, op=op)  # type: ignore[arg-type]


def test_a_vote_on_a_line_notifies_the_member_who_added_it() -> None:
    assert notification_reasons(room(), ev(5, "bea", Vote(line=4, value="up"))) == [("ana", "vote")]
    assert notification_reasons(room(), ev(5, "own", Vote(line=4, value="down"))) == [("ana", "vote")]


def test_never_the_causer_nor_a_cleared_or_repeated_vote_nor_a_missing_line() -> None:
    state = room()
    assert notification_reasons(state, ev(5, "ana", Vote(line=4, value="up"))) == []  # her own line
    assert notification_reasons(state, ev(5, "bea", Vote(line=4, value="clear"))) == []
    assert notification_reasons(state, ev(5, "bea", Vote(line=99, value="up"))) == []
    apply(state, ev(5, "bea", Vote(line=4, value="up")))
    assert notification_reasons(state, ev(6, "bea", Vote(line=4, value="up"))) == []  # no change
    assert notification_reasons(state, ev(6, "bea", Vote(line=4, value="down"))) == [("ana", "vote")]


def test_a_kicked_member_is_not_notified_and_other_events_cause_nothing() -> None:
    state = room()
    assert notification_reasons(state, ev(5, "bea", Chat(text="hi"))) == []
    apply(state, ev(5, "own", MemberKick(member="ana")))
    assert notification_reasons(state, ev(6, "bea", Vote(line=4, value="up"))) == []


def test_mentions_questions_answers_and_polls_notify_who_they_concern() -> None:
    from protocol.messages import PollCreate, PollOption, QuestionAnswer, QuestionAsk

    state = room()
    assert notification_reasons(state, ev(5, "bea", Chat(text="@Ana look", mentions=["ana"]))) == [("ana", "mention")]
    assert notification_reasons(state, ev(5, "ana", Chat(text="@Ana me", mentions=["ana"]))) == []  # herself
    ask = ev(5, "bea", QuestionAsk(to=["ana", "own"], text="M or L?", line=4))
    assert notification_reasons(state, ask) == [("ana", "question"), ("own", "question")]
    apply(state, ask)
    assert notification_reasons(state, ev(6, "ana", QuestionAnswer(question=5, text="M"))) == [("bea", "question")]
    jacket = Product(id="p2", name="Coat", price=100, currency="EUR")
    poll = PollCreate(
        question="Which?",
        options=[PollOption(line=4), PollOption(product=jacket)],
        deadline=10**12,
        outcome="post_result",
    )
    assert notification_reasons(state, ev(6, "bea", poll)) == [("ana", "poll")]
    assert notification_reasons(state, ev(6, "ana", poll)) == []  # her own poll on her own line
