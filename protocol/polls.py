"""Polls with deadlines (SPEC section 17): rules, tally and outcome, pure.

``protocol.reducer`` calls ``poll_rule`` from ``check_rules`` and ``fold_poll`` from
``apply``; the server's sequencer also calls ``timing_rule`` (it needs the clock, so the
fold never does). The JS reducer (clients/js/src/core/polls.js) mirrors this module.
"""

from __future__ import annotations

import msgspec

from protocol.errors import ErrorCode
from protocol.messages import Event, Poll, PollClose, PollCreate, PollVote, RoomState

MAX_OPEN_POLLS = 10  # open polls per room: a poll.create beyond it is refused
POLLS_KEEP = 20  # polls kept in the state: past it the oldest closed one leaves
MIN_DEADLINE_MS = 60_000  # default `poll_min_deadline_ms` (SPEC 17.3)
MAX_DEADLINE_MS = 30 * 24 * 3600 * 1000

Refusal = tuple[ErrorCode, str]
PollOp = PollCreate | PollVote | PollClose


def find_poll(state: RoomState, poll_id: int) -> Poll | None:
    for poll in state.polls:
        if poll.id == poll_id:
            return poll
    return None


def open_polls(state: RoomState) -> int:
    return sum(1 for p in state.polls if not p.closed)


def poll_rule(state: RoomState, by: str, op: PollOp, is_owner: bool) -> Refusal | None:
    """The state rules of a poll op (membership and role were checked before, except for
    ``poll.close``, a server event)."""
    if isinstance(op, PollClose):
        if by != "":
            return ErrorCode.FORBIDDEN, "poll.close is a server event"
        poll = find_poll(state, op.poll)
        if poll is None:
            return ErrorCode.NOT_FOUND, f"poll {op.poll} is gone"
        return (ErrorCode.POLL_CLOSED, "the poll is closed") if poll.closed else None
    if isinstance(op, PollCreate):
        if op.outcome == "keep_winner" and state.locked and not is_owner:
            return ErrorCode.ROOM_LOCKED, "the room is locked by its owner"
        cart = {item.line for item in state.cart}
        for option in op.options:
            if option.line is not None and option.line not in cart:
                return ErrorCode.NOT_FOUND, f"cart line {option.line} is gone"
        if open_polls(state) >= MAX_OPEN_POLLS:
            return ErrorCode.FORBIDDEN, f"a room has at most {MAX_OPEN_POLLS} open polls"
        return None
    poll = find_poll(state, op.poll)
    if poll is None:
        return ErrorCode.NOT_FOUND, f"poll {op.poll} is gone"
    if poll.closed:
        return ErrorCode.POLL_CLOSED, "the poll is closed"
    if op.option is not None and op.option >= len(poll.options):
        return ErrorCode.INVALID_FIELD, f"the poll has {len(poll.options)} options"
    return None


def timing_rule(
    state: RoomState, op: object, now: int, min_ms: int = MIN_DEADLINE_MS, max_ms: int = MAX_DEADLINE_MS
) -> Refusal | None:
    """Clock rules, checked by the sequencer only: a new poll's deadline lies ``min_ms`` ..
    ``max_ms`` ahead of ``now``; a vote after the deadline is refused (its close is due)."""
    if isinstance(op, PollCreate):
        ahead = op.deadline - now
        if ahead < min_ms or ahead > max_ms:
            return ErrorCode.INVALID_FIELD, f"the deadline must lie {min_ms} ms to {max_ms} ms ahead"
    elif isinstance(op, PollVote):
        poll = find_poll(state, op.poll)
        if poll is not None and now >= poll.deadline:
            return ErrorCode.POLL_CLOSED, "the poll's deadline has passed"
    return None


def tally(poll: Poll) -> list[int]:
    counts = [0] * len(poll.options)
    for option in poll.votes.values():
        counts[option] += 1
    return counts


def winner(counts: list[int]) -> int | None:
    """The single most-voted option; None when nobody voted or the top is a tie."""
    best = max(counts, default=0)
    if best == 0 or counts.count(best) != 1:
        return None
    return counts.index(best)


def fold_poll(state: RoomState, event: Event, op: PollOp) -> None:
    """Apply an accepted poll op (``poll_rule`` passed) to ``state``."""
    if isinstance(op, PollCreate):
        state.polls.append(
            Poll(
                id=event.seq,
                by=event.by,
                ts=event.ts,
                question=op.question,
                options=list(op.options),
                deadline=op.deadline,
                outcome=op.outcome,
            )
        )
        if len(state.polls) > POLLS_KEEP:  # open polls are at most MAX_OPEN_POLLS < POLLS_KEEP
            oldest = next(i for i, p in enumerate(state.polls) if p.closed)
            del state.polls[oldest]
        return
    poll = find_poll(state, op.poll)
    assert poll is not None
    if isinstance(op, PollVote):
        if op.option is None:
            poll.votes.pop(event.by, None)
        else:
            poll.votes[event.by] = op.option
        return
    # poll.close: the result is computed from the votes folded so far (the event's
    # tally/winner are what the sequencing node saw; every replica computes the same)
    counts = tally(poll)
    poll.closed = True
    poll.tally = counts
    poll.winner = winner(counts)
    if poll.outcome == "keep_winner" and poll.winner is not None:
        losers = {o.line for i, o in enumerate(poll.options) if i != poll.winner and o.line is not None}
        present = [item.line for item in state.cart if item.line in losers]
        if present:
            state.cart = [item for item in state.cart if item.line not in losers]
        poll.removed = present


def scrub_polls(state: RoomState, member: str, erased_text: str) -> None:
    """member.erase: the question and labels of the member's polls become tombstones."""
    for poll in state.polls:
        if poll.by == member:
            poll.question = erased_text
            poll.options = [msgspec.structs.replace(o, label=None) for o in poll.options]
