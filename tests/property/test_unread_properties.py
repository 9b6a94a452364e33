"""Unread counting (SPEC 15, ``protocol/unread.py``) over random room logs.

* counting is additive: any split of a tail counts the same as the whole (the server
  counts the stored part and the replay window apart; clients add live events);
* on a log a server wrote (no event that folds as a no-op), counting the events after a
  cursor equals counting on the fold: the chat messages by others in the folded state
  after the cursor, and the cart ops by others that changed the state while folding from
  the snapshot at the cursor; and that snapshot + the tail is the full fold;
* the store's light decoding (author and op type only) counts what full events count.
"""

from __future__ import annotations

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from cosession.cursors.store import _head_decoder
from protocol.messages import CartAdd, CartQty, CartRemove, CartRevalidate, Event, RoomState, Unread
from protocol.questions import open_questions_for
from protocol.reducer import apply, check_rules, copy_state, fold
from protocol.unread import add, count_kinds, count_unread
from tests.property.test_reducer_properties import MEMBERS, OWNER, SETTINGS, VIEWER, logs

PEOPLE = (OWNER, *MEMBERS, VIEWER, "zed")
_encoder = msgspec.msgpack.Encoder()


def accepted_only(events: list[Event]) -> list[Event]:
    """The log a server would have written: refused ops never appended, seqs contiguous."""
    state = RoomState()
    out: list[Event] = []
    for event in events:
        if check_rules(state, event.by, event.op) is not None:
            continue
        kept = Event(seq=len(out) + 1, ts=event.ts, by=event.by, op=event.op)
        apply(state, kept)
        out.append(kept)
    return out


@SETTINGS
@given(logs, st.integers(0, 200), st.integers(0, 200), st.sampled_from(PEOPLE))
def test_counting_is_additive(events: list[Event], cut: int, split: int, member: str) -> None:
    state = fold(events)
    tail = events[cut % (len(events) + 1) :]
    k = split % (len(tail) + 1)
    whole = count_unread(state, tail, member)
    assert add(count_unread(state, tail[:k], member), count_unread(state, tail[k:], member)) == whole
    waiting = len(open_questions_for(state, member))  # a figure of the state, not of the events
    assert count_unread(state, [], member) == Unread(questions=waiting)
    mine = count_unread(state, [e for e in tail if e.by == member], member)
    assert mine == Unread(questions=waiting)


CART_OPS = (CartAdd, CartQty, CartRemove, CartRevalidate)


@SETTINGS
@given(logs, st.integers(0, 200), st.sampled_from(PEOPLE))
def test_counting_the_events_equals_counting_on_the_fold(raw: list[Event], cut: int, member: str) -> None:
    events = accepted_only(raw)
    full = fold(events)
    cursor = cut % (len(events) + 1)
    tail = events[cursor:]
    counted = count_unread(full, tail, member)
    # messages: what the folded state shows after the cursor (no chat was evicted: < CHAT_KEEP)
    assert counted.messages == sum(1 for m in full.chat if m.id > cursor and m.by != member)
    # cart: fold from the snapshot at the cursor, counting the cart ops by others it applies
    state = copy_state(fold(events[:cursor]))
    cart = 0
    for event in tail:
        if isinstance(event.op, CART_OPS) and event.by != member and check_rules(state, event.by, event.op) is None:
            cart += 1
        apply(state, event)
    assert counted.cart == cart
    # snapshot at the cursor + the tail == the full fold (cursors never enter the log)
    assert msgspec.to_builtins(state) == msgspec.to_builtins(full)
    assert counted.questions == len(open_questions_for(full, member))
    assert counted.mentions == sum(1 for m in full.chat if m.id > cursor and m.by != member and member in m.mentions)


@SETTINGS
@given(logs, st.sampled_from(PEOPLE))
def test_the_stores_light_decoding_counts_like_full_events(events: list[Event], member: str) -> None:
    heads = [_head_decoder.decode(_encoder.encode(e)) for e in events]
    light = count_kinds(((h.by, h.op.t) for h in heads), member)
    full = count_unread(fold(events), events, member)
    assert (light.messages, light.cart) == (full.messages, full.cart)  # mentions need the whole event
