"""Reducer properties with ``room.close`` and ``member.erase`` mixed into random logs.

* snapshot + tail == whole log, through both codecs, with closes and erasures anywhere;
* after ``room.close`` every event but ``member.erase`` / ``log.gap`` is a no-op;
* erasure: the log rewritten by ``scrub_event`` (and a snapshot rewritten by
  ``scrub_state``, then the rewritten tail) folds to exactly the state of the original
  log, and that state holds no name, chat text or cart authorship of an erased member.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import JSON, MSGPACK
from protocol.erasure import scrub_event
from protocol.messages import (
    Chat,
    Event,
    EventBody,
    LogGap,
    MemberErase,
    MemberJoin,
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
        event = Event(seq=state.seq + 1, ts=1000 * (state.seq + 1), by=by, op=op)
        apply(state, event)
        history.record(state, event)
        events.append(event)
    return events


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
        for event in scrubbed:  # nothing personal of theirs left in the rewritten log
            op = event.op
            if isinstance(op, Chat) and event.by == member:
                assert op.text == ERASED_TEXT
            if isinstance(op, MemberJoin) and op.member == member:
                assert op.name == ""
            if isinstance(op, RoomCreate) and op.owner == member:
                assert op.owner_name == ""


@pytest.mark.parametrize("member", ["bo", OWNER])
def test_erasing_twice_changes_nothing(member: str) -> None:
    events = setup_events()
    n = len(events)
    events += [Event(seq=n + i, ts=0, by="", op=MemberErase(member=member)) for i in (1, 2)]
    once, twice = fold(events[:-1]), fold(events)
    once.seq = twice.seq
    assert once == twice
