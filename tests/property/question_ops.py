"""Random question ops and mentions for the reducer properties (SPEC 16), kept beside
``test_reducer_properties`` so that file stays short: how an intent becomes a
``question.*`` op, an independent statement of rules 20-26, and what an accepted one did.
"""

from __future__ import annotations

from protocol import questions as Q
from protocol.messages import Chat, EventBody, QuestionAnswer, QuestionAsk, QuestionClose, RoomState

QUESTION_KINDS = ("ask", "ask", "answer", "answer", "close")


def mention_list(people: tuple[str, ...], a: int, b: int) -> list[str]:
    """0-2 ids: members, outsiders, a repeat now and then."""
    if b % 3 == 0:
        return []
    first = people[a % len(people)]
    return [first] if b % 3 == 1 else [first, people[(a + b) % len(people)]]


def resolve_question(
    kind: str, state: RoomState, asked: list[int], people: tuple[str, ...], a: int, b: int, flag: bool
) -> EventBody:
    """``asked``: every question id the room ever had (to name gone ones too)."""
    if kind == "ask":
        to = mention_list(people, a, b) or [people[b % len(people)]]
        line = None if flag or not state.cart else state.cart[a % len(state.cart)].line
        return QuestionAsk(to=to, text=("size?", "M or L?")[a % 2], line=line if b % 4 else state.seq + 1)
    live = [q.id for q in state.questions]
    candidates = [*live, *live, *(q for q in asked if q not in live), state.seq + 1]
    target = candidates[a % len(candidates)]
    if kind == "answer":
        return QuestionAnswer(question=target, text=("M", "L")[b % 2])
    return QuestionClose(question=target)


def question_allowed(state: RoomState, by: str, op: EventBody) -> bool:
    """Rules 20-26, written out again (``by`` already passed rules 4-6)."""
    if isinstance(op, Chat):
        return len(set(op.mentions)) == len(op.mentions) and all(m in state.members for m in op.mentions)
    if isinstance(op, QuestionAsk):
        if len(set(op.to)) != len(op.to):
            return False
        for m in op.to:
            info = state.members.get(m)
            if m == by or info is None or info.kicked or info.role == "viewer":
                return False
        if op.line is not None and op.line not in {item.line for item in state.cart}:
            return False
        waiting = [q for q in state.questions if q.by == by and not q.closed and not q.answers]
        return len(waiting) < Q.MAX_OPEN_ASKED
    assert isinstance(op, (QuestionAnswer, QuestionClose))
    found = [q for q in state.questions if q.id == op.question]
    if not found or found[0].closed:
        return False
    if isinstance(op, QuestionClose):
        return by in (found[0].by, state.owner)
    return len(found[0].answers) < Q.MAX_ANSWERS


def check_question_step(before: RoomState, by: str, seq: int, op: EventBody, after: RoomState) -> None:
    if isinstance(op, Chat):
        assert after.chat[-1].mentions == op.mentions
    elif isinstance(op, QuestionAsk):
        q = after.questions[-1]
        assert (q.id, q.by, q.to, q.text, q.line, q.answers, q.closed) == (seq, by, op.to, op.text, op.line, [], False)
        assert len(after.questions) <= Q.QUESTIONS_KEEP
    elif isinstance(op, QuestionAnswer):
        q = Q.find_question(after, op.question)
        assert q is not None and q.answers[-1].seq == seq and q.answers[-1].by == by
    elif isinstance(op, QuestionClose):
        q = Q.find_question(after, op.question)
        assert q is not None and q.closed
        old = Q.find_question(before, op.question)
        assert old is not None and old.answers == q.answers


def check_question_invariants(state: RoomState) -> None:
    ids = [q.id for q in state.questions]
    assert ids == sorted(set(ids)) and all(1 <= i <= state.seq for i in ids)
    assert len(state.questions) <= Q.QUESTIONS_KEEP
    for q in state.questions:
        assert q.by not in q.to and len(q.to) == len(set(q.to))
        assert len(q.answers) <= Q.MAX_ANSWERS
        assert [a.seq for a in q.answers] == sorted(a.seq for a in q.answers)
        assert all(q.id < a.seq <= state.seq for a in q.answers)
    for member in state.members:
        for q in Q.open_questions_for(state, member):
            assert member in q.to and not q.closed and all(a.by != member for a in q.answers)
