"""Reducer properties with product Q&A ops (SPEC section 19) in random logs: asks from
members (and from people who may not), answers and hides from the server (and forged
ones from members), re-deliveries of the same answer, hides of unknown or evicted
answers, chat, kicks, erasure and closing, with ``QA_KEEP`` shrunk so eviction happens.

* snapshot + tail == whole log, through both codecs;
* ``qa`` stays in id order, bounded, and holds each answer id at most once;
* a hidden answer keeps no text and no name, and stays hidden whatever comes later;
* the log rewritten for an erasure folds to the same state, and the erased members'
  asks keep no text.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import JSON, MSGPACK, qa_fold
from protocol.erasure import scrub_event
from protocol.messages import (
    Chat,
    Event,
    EventBody,
    MemberErase,
    MemberJoin,
    MemberKick,
    Product,
    QaAnswer,
    QaAsk,
    QaHide,
    RoomClose,
    RoomCreate,
    Welcome,
)
from protocol.reducer import copy_state, fold, scrub_state

OWNER = "ana"
MEMBERS = ("bo", "cy")
VIEWER = "vic"
SENDERS = (OWNER, *MEMBERS, *MEMBERS, VIEWER, "zed")
PRODUCTS = [Product(id=f"p{i}", name=f"P{i}", price=100, currency="EUR") for i in range(3)]
KEEP = 4
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def tiny_keep() -> Iterator[None]:
    with mock.patch.object(qa_fold, "QA_KEEP", KEEP):
        yield


def setup() -> list[EventBody]:
    return [
        RoomCreate(name="Room", owner=OWNER, owner_name="Ana"),
        *(MemberJoin(member=m, name=m.upper(), role="member") for m in MEMBERS),
        MemberJoin(member=VIEWER, name="Vic", role="viewer"),
    ]


def answer(n: int) -> QaAnswer:
    return QaAnswer(thread="qt_1", answer=f"qa_{n}", product_id="p0", text=f"answer {n}", name=f"Buyer {n}")


Step = tuple[str, int, int]
steps = st.lists(
    st.tuples(
        st.sampled_from(["ask", "ask", "answer", "answer", "hide", "hide", "chat", "kick", "erase", "close", "forge"]),
        st.integers(0, 20),
        st.integers(0, 7),
    ),
    max_size=40,
)


def build(chosen: list[Step]) -> list[Event]:
    bodies: list[tuple[str, EventBody]] = [("", body) for body in setup()]
    for kind, a, b in chosen:
        sender = SENDERS[a % len(SENDERS)]
        if kind == "ask":
            bodies.append((sender, QaAsk(product=PRODUCTS[b % 3], text=f"question {a} from {sender}")))
        elif kind == "answer":
            bodies.append(("", answer(b)))  # b in 0..7: the same answer id comes again
        elif kind == "hide":
            bodies.append(("", QaHide(answer=f"qa_{b}")))
        elif kind == "forge":
            bodies.append((sender, answer(b) if a % 2 else QaHide(answer=f"qa_{b}")))
        elif kind == "chat":
            bodies.append((sender, Chat(text=f"chat {a}")))
        elif kind == "kick":
            bodies.append((OWNER, MemberKick(member=MEMBERS[b % 2])))
        elif kind == "erase":
            bodies.append(("", MemberErase(member=(OWNER, *MEMBERS)[b % 3])))
        elif kind == "close" and a == 0:  # rarely
            bodies.append(("", RoomClose()))
    return [Event(seq=i + 1, ts=1000 * (i + 1), by=by, op=op) for i, (by, op) in enumerate(bodies)]


@SETTINGS
@given(steps, st.integers(0, 100))
def test_snapshot_plus_tail_equals_the_whole_log(chosen: list[Step], at: int) -> None:
    with tiny_keep():
        events = build(chosen)
        whole = fold(events)
        k = at % (len(events) + 1)
        for codec in (JSON, MSGPACK):
            snapshot = fold(events[:k])
            welcome = Welcome(room="r", member="m", role="member", epoch="e", seq=k, recovered=False, snapshot=snapshot)
            decoded = codec.decode_server(codec.encode(welcome))
            assert isinstance(decoded, Welcome) and decoded.snapshot is not None
            assert fold(events[k:], copy_state(decoded.snapshot)) == whole


@SETTINGS
@given(steps)
def test_qa_is_ordered_bounded_and_holds_each_answer_once(chosen: list[Step]) -> None:
    with tiny_keep():
        events = build(chosen)
        hidden: set[str] = set()
        state = fold(events[:4])
        for event in events[4:]:
            fold([event], state)
            ids = [item.id for item in state.qa]
            assert ids == sorted(ids) and len(ids) <= KEEP
            answers = [item.answer for item in state.qa if item.kind == "answer"]
            assert len(answers) == len(set(answers))
            for item in state.qa:
                if item.kind == "answer" and item.hidden:
                    assert item.text == "" and item.name == ""
                    hidden.add(item.answer)
                assert item.kind == "answer" or item.by in (OWNER, *MEMBERS)  # no ask from viewers or outsiders
            for item in state.qa:  # once hidden, hidden for good (while it stays in the state)
                assert item.answer not in hidden or item.hidden
            assert all(item.by == "" for item in state.qa if item.kind == "answer")


@SETTINGS
@given(steps, st.integers(0, 100))
def test_an_erasure_rewritten_log_folds_to_the_same_state(chosen: list[Step], at: int) -> None:
    with tiny_keep():
        events = build(chosen)
        whole = fold(events)
        erased = {e.op.member for e in events if isinstance(e.op, MemberErase)}
        scrubbed = list(events)
        for member in erased:
            scrubbed = [scrub_event(e, member) for e in scrubbed]
        assert fold(scrubbed) == whole
        k = at % (len(events) + 1)
        snapshot = fold(events[:k])
        for member in erased:
            scrub_state(snapshot, member)
        assert fold(scrubbed[k:], snapshot) == whole
        for item in whole.qa:
            if item.kind == "ask" and item.by in erased:
                assert item.text == qa_fold.QA_ERASED_TEXT
        for event in scrubbed:
            if isinstance(event.op, QaAsk) and event.by in erased:
                assert event.op.text == qa_fold.QA_ERASED_TEXT
