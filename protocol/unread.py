"""Unread counts after a member's read cursor (SPEC section 15): pure, no I/O.

``count_unread`` counts the events after the cursor that someone else caused: chat
messages, and cart changes (``cart.add``, ``cart.qty``, ``cart.remove`` and the server's
``cart.revalidate``). It counts the log, not the fold: an event that folded as a no-op
(possible only on a cluster, SPEC 8.3) still counts. Counting is additive, so a tail may
be counted in pages (``kind_of`` on just the author and the op's type lets a store count
without decoding whole events) and a client may add the events that arrive live.
``mentions`` counts the chat messages after the cursor that mention the member (SPEC 16);
a tail counted in the light form (a store's long tail) has no mentions to see.
``questions`` is not a count of events but the member's open questions now
(``open_questions_for``): asked of them, not closed, not answered by them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

from protocol.messages import Chat, Event, RoomState, Unread
from protocol.questions import open_questions_for

MESSAGE_TYPES: Final = frozenset({"chat"})
CART_TYPES: Final = frozenset({"cart.add", "cart.qty", "cart.remove", "cart.revalidate"})
#: every op type that counts as unread for someone (a store may pre-filter on it)
COUNTED_TYPES: Final = MESSAGE_TYPES | CART_TYPES

Kind = Literal["messages", "cart"]


def op_type(event: Event) -> str:
    """The wire name (``t``) of an event's body."""
    return type(event.op).__struct_config__.tag  # type: ignore[return-value]


def kind_of(by: str, op: str, member: str) -> Kind | None:
    """What an event by ``by`` with body type ``op`` counts as for ``member``."""
    if by == member:
        return None
    if op in MESSAGE_TYPES:
        return "messages"
    if op in CART_TYPES:
        return "cart"
    return None


def count_kinds(heads: Iterable[tuple[str, str]], member: str) -> Unread:
    """Count ``(by, op type)`` pairs, the light form of a tail of events."""
    messages = cart = 0
    for by, op in heads:
        kind = kind_of(by, op, member)
        if kind == "messages":
            messages += 1
        elif kind == "cart":
            cart += 1
    return Unread(messages=messages, cart=cart)


def count_unread(state: RoomState, events_after_cursor: list[Event], member: str) -> Unread:
    """The member's unread counts, given the room's state (at its head) and the events
    after the member's read cursor."""
    counts = count_kinds(((e.by, op_type(e)) for e in events_after_cursor), member)
    mentions = sum(
        1 for e in events_after_cursor if e.by != member and isinstance(e.op, Chat) and member in e.op.mentions
    )
    questions = len(open_questions_for(state, member))
    return Unread(messages=counts.messages, cart=counts.cart, questions=questions, mentions=mentions)


def add(a: Unread, b: Unread) -> Unread:
    """Counts of two consecutive pieces of a tail (``questions`` is a current figure, not
    a count of events: ``b``'s, the later one, wins)."""
    return Unread(
        messages=a.messages + b.messages,
        cart=a.cart + b.cart,
        questions=b.questions,
        mentions=a.mentions + b.mentions,
    )


def is_zero(unread: Unread) -> bool:
    return unread.messages == 0 and unread.cart == 0 and unread.questions == 0 and unread.mentions == 0


def clamp_cursor(seq: int, head: int) -> int:
    """A read cursor beyond the room's head is clamped to the head (SPEC 15)."""
    return min(max(seq, 0), head)
