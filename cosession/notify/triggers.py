"""Which committed events call for a notification, and to whom: a pure function, no I/O.

``notification_reasons(state_before, event)`` lists ``(member, reason)`` pairs for one
event folded onto ``state_before`` (the room's state just before it). Who is online,
muted or inside a quiet window is decided later (cosession/notify/writer.py); here only
the room's own rules: never the member who caused the event, never a kicked or erased
member.

Reasons (SPEC 18.1): ``vote`` (someone voted up or down on a cart line the member
added), ``mention`` (a chat message names the member in ``mentions``), ``question`` (a
question is addressed to the member, or someone answered the member's question) and
``poll`` (a poll puts a cart line the member added to the vote). Adding one is a function
``(state, event) -> list[member]`` and one line in ``TRIGGERS``, keyed by the event
body's class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

from protocol.messages import Chat, Event, PollCreate, QuestionAnswer, QuestionAsk, RoomState, Vote

Reason = Literal["mention", "question", "vote", "poll"]
REASONS: tuple[str, ...] = get_args(Reason)

Trigger = Callable[[RoomState, Event], list[str]]


def _voted_on(state: RoomState, event: Event) -> list[str]:
    op = event.op
    assert isinstance(op, Vote)
    if op.value == "clear":
        return []
    line = next((item for item in state.cart if item.line == op.line), None)
    if line is None:
        return []
    new = 1 if op.value == "up" else -1
    if line.votes.get(event.by) == new:  # the same vote again changes nothing
        return []
    return [line.added_by]


def _mentioned(state: RoomState, event: Event) -> list[str]:
    assert isinstance(event.op, Chat)
    return list(event.op.mentions)


def _asked(state: RoomState, event: Event) -> list[str]:
    assert isinstance(event.op, QuestionAsk)
    return list(event.op.to)


def _answered(state: RoomState, event: Event) -> list[str]:
    op = event.op
    assert isinstance(op, QuestionAnswer)
    question = next((q for q in state.questions if q.id == op.question), None)
    return [] if question is None or question.closed else [question.by]


def _put_to_a_poll(state: RoomState, event: Event) -> list[str]:
    op = event.op
    assert isinstance(op, PollCreate)
    lines = {option.line for option in op.options if option.line is not None}
    return [item.added_by for item in state.cart if item.line in lines]


# event body class -> [(reason, trigger)]. The one place to extend (module docstring).
TRIGGERS: dict[type, list[tuple[str, Trigger]]] = {
    Vote: [("vote", _voted_on)],
    Chat: [("mention", _mentioned)],
    QuestionAsk: [("question", _asked)],
    QuestionAnswer: [("question", _answered)],
    PollCreate: [("poll", _put_to_a_poll)],
}


def notification_reasons(state_before: RoomState, event: Event) -> list[tuple[str, str]]:
    """``(member, reason)`` pairs ``event`` causes; usually none (cheap: one dict lookup)."""
    triggers = TRIGGERS.get(type(event.op))
    if not triggers:
        return []
    out: list[tuple[str, str]] = []
    for reason, trigger in triggers:
        for member in trigger(state_before, event):
            info = state_before.members.get(member)
            if member == event.by or not member or info is None or info.kicked or info.erased:
                continue
            if (member, reason) not in out:
                out.append((member, reason))
    return out
