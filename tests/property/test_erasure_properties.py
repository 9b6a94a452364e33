"""Reducer properties with ``room.close`` and ``member.erase`` mixed into random logs.

* snapshot + tail == whole log, through both codecs, with closes and erasures anywhere;
* after ``room.close`` every event but ``member.erase`` / ``log.gap`` is a no-op;
* erasure: the log rewritten by ``scrub_event`` (and a snapshot rewritten by
  ``scrub_state``, then the rewritten tail) folds to exactly the state of the original
  log, and that state holds no name, chat text or cart authorship of an erased member;
  nor does any ``checkout.start`` snapshot of the rewritten log (requester, line authors).
"""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import JSON, MSGPACK
from protocol.erasure import scrub_event
from protocol.messages import (
    Chat,
    CheckoutStart,
    Event,
    EventBody,
    LogGap,
    MemberErase,
    MemberJoin,
    QuestionAnswer,
    QuestionAsk,
    RoomClose,
    RoomCreate,
    RoomState,
    Welcome,
)
from protocol.reducer import ERASED_TEXT, apply, check_rules, copy_state, fold, scrub_state
from tests.property.test_reducer_properties import (
    ALL_KINDS,
    JOINABLE,
    OWNER,
    SETTINGS,
    History,
    Intent,
    intent_lists,
    resolve,
    setup_events,
)

KINDS = (*ALL_KINDS, "erase", "erase", "close")
PEOPLE = (OWNER, *JOINABLE)


def build_log(ops: list[Intent]) -> list[Event]:
    events = setup_events()
    state = fold(events)
    history = History()
    for intent in ops:
        kind, actor, a, _b, flag = intent
        op: EventBody
        if kind == "erase":
            by, op = ("" if not flag or a % 5 else actor), MemberErase(member=PEOPLE[a % len(PEOPLE)])
        elif kind == "close":
            by, op = ("" if not flag else actor), RoomClose(reason="r" if a % 2 else "")
        else:
            by, op = resolve(state, history, intent)
            if isinstance(op, CheckoutStart):
                op = with_names(state, op)
        event = Event(seq=state.seq + 1, ts=1000 * (state.seq + 1), by=by, op=op)
        apply(state, event)
        history.record(state, event)
        events.append(event)
    return events


def with_names(state: RoomState, op: CheckoutStart) -> CheckoutStart:
    """The names the server freezes into a snapshot (cosession/retail/checkout.py)."""

    def name(member: str) -> str:
        info = state.members.get(member)
        return info.name if info is not None else ""

    lines = [msgspec.structs.replace(line, added_by_name=name(line.added_by)) for line in op.lines]
    return msgspec.structs.replace(op, requested_by_name=name(op.requested_by), lines=lines)


logs = intent_lists(KINDS, min_ops=10).map(build_log)


def erased_members(events: list[Event]) -> set[str]:
    out: set[str] = set()
    state = RoomState()
    for event in events:
        if isinstance(event.op, MemberErase) and check_rules(state, event.by, event.op) is None:
            out.add(event.op.member)
        apply(state, event)
    return out


@SETTINGS
@given(logs, st.integers(0, 100))
def test_snapshot_plus_tail_equals_the_whole_log(events: list[Event], at: int) -> None:
    whole = fold(events)
    k = at % (len(events) + 1)
    snapshot = fold(events[:k])
    for codec in (JSON, MSGPACK):
        welcome = Welcome(room="r", member="m", role="member", epoch="e", seq=k, recovered=False, snapshot=snapshot)
        decoded = codec.decode_server(codec.encode(welcome))
        assert isinstance(decoded, Welcome) and decoded.snapshot is not None
        assert fold(events[k:], copy_state(decoded.snapshot)) == whole


@SETTINGS
@given(logs)
def test_a_closed_room_takes_nothing_but_erasure(events: list[Event]) -> None:
    state = RoomState()
    for event in events:
        before = copy_state(state)
        allowed = check_rules(state, event.by, event.op) is None
        apply(state, event)
        if before.closed:
            assert state.closed
            if not isinstance(event.op, (MemberErase, LogGap)):
                assert not allowed
                before.seq = event.seq
                assert state == before


@SETTINGS
@given(logs, st.integers(0, 100))
def test_scrubbed_log_and_snapshots_fold_to_the_same_state(events: list[Event], at: int) -> None:
    whole = fold(events)
    erased = erased_members(events)
    scrubbed = list(events)
    for member in erased:
        scrubbed = [scrub_event(e, member) for e in scrubbed]
    assert fold(scrubbed) == whole
    k = at % (len(events) + 1)
    snapshot = fold(events[:k])
    for member in erased:
        scrub_state(snapshot, member)
    assert fold(scrubbed[k:], snapshot) == whole
    for member in erased:
        info = whole.members[member]
        assert info.name == "" and info.erased and info.kicked
        assert all(m.text == ERASED_TEXT and m.product is None for m in whole.chat if m.by == member)
        assert all(line.added_by != member for line in whole.cart)
        for q in whole.questions:  # SPEC 16: question and answer texts are tombstones too
            assert q.by != member or (q.text == ERASED_TEXT and q.product is None)
            assert all(a.text == ERASED_TEXT for a in q.answers if a.by == member)
        for event in scrubbed:  # nothing personal of theirs left in the rewritten log
            op = event.op
            if isinstance(op, Chat) and event.by == member:
                assert op.text == ERASED_TEXT
            if isinstance(op, MemberJoin) and op.member == member:
                assert op.name == ""
            if isinstance(op, (QuestionAsk, QuestionAnswer)) and event.by == member:
                assert op.text == ERASED_TEXT
            if isinstance(op, RoomCreate) and op.owner == member:
                assert op.owner_name == ""
            if isinstance(op, CheckoutStart):
                assert op.requested_by != member or op.requested_by_name == ""
                assert all(line.added_by_name == "" for line in op.lines if line.added_by == member)
    # the generator does produce named snapshots of members who are erased later
    named = [
        e.op
        for e in events
        if isinstance(e.op, CheckoutStart) and e.op.requested_by in erased and e.op.requested_by_name
    ]
    if named:
        assert all(scrub_event(Event(seq=1, ts=0, by="", op=op), op.requested_by).op != op for op in named)


@pytest.mark.parametrize("member", ["bo", OWNER])
def test_erasing_twice_changes_nothing(member: str) -> None:
    events = setup_events()
    n = len(events)
    events += [Event(seq=n + i, ts=0, by="", op=MemberErase(member=member)) for i in (1, 2)]
    once, twice = fold(events[:-1]), fold(events)
    once.seq = twice.seq
    assert once == twice
