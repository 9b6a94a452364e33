"""Mentions and questions (SPEC section 16): their rules, their effects, and who has what open.

Pure functions over ``RoomState`` used by ``protocol.reducer`` (rules 20-26 and the
effects of ``question.*``) and by clients (``open_questions_for``: the questions waiting
for a member's answer, listed first when the member comes back). No I/O.
"""

from __future__ import annotations

import bisect

from protocol.errors import ErrorCode
from protocol.messages import (
    Answer,
    Event,
    Question,
    QuestionAnswer,
    QuestionAsk,
    QuestionClose,
    RoomState,
)

QUESTIONS_KEEP = 200  # questions kept in the state; older ones leave the snapshot (not the log)
MAX_ANSWERS = 50  # answers one question holds; later ones are refused (forbidden)
MAX_OPEN_ASKED = 20  # questions one member may have waiting (neither answered nor closed)

Problem = tuple[ErrorCode, str]


def find_question(state: RoomState, question_id: int) -> Question | None:
    """The question asked at seq ``question_id``, if the state still holds it."""
    questions = state.questions
    i = bisect.bisect_left(questions, question_id, key=lambda q: q.id)
    if i < len(questions) and questions[i].id == question_id:
        return questions[i]
    return None


def is_waiting(question: Question) -> bool:
    """Neither answered nor closed."""
    return not question.closed and not question.answers


def check_mentions(state: RoomState, mentions: list[str]) -> Problem | None:
    """Rule 20: every mentioned id is a member of the room (kicked ones too), once."""
    if len(set(mentions)) != len(mentions):
        return ErrorCode.INVALID_FIELD, "a member is mentioned twice"
    for member in mentions:
        if member not in state.members:
            return ErrorCode.INVALID_FIELD, f"mentioned member {member} is not in the room"
    return None


def check_question(state: RoomState, by: str, op: QuestionAsk | QuestionAnswer | QuestionClose) -> Problem | None:
    """Rules 21-26, for a ``by`` that passed the general rules (a member, not kicked, not a viewer)."""
    if isinstance(op, QuestionAsk):
        if len(set(op.to)) != len(op.to):
            return ErrorCode.INVALID_FIELD, "a member is asked twice"
        for member in op.to:
            info = state.members.get(member)
            if member == by or info is None or info.kicked or info.role == "viewer":
                return ErrorCode.INVALID_FIELD, f"{member} cannot be asked (not another member who may answer)"
        if op.line is not None and all(item.line != op.line for item in state.cart):
            return ErrorCode.NOT_FOUND, f"cart line {op.line} is gone"
        if sum(1 for q in state.questions if q.by == by and is_waiting(q)) >= MAX_OPEN_ASKED:
            return ErrorCode.FORBIDDEN, f"at most {MAX_OPEN_ASKED} of your questions may wait for an answer"
        return None
    question = find_question(state, op.question)
    if question is None:
        return ErrorCode.NOT_FOUND, f"question {op.question} is gone"
    if question.closed:
        return ErrorCode.QUESTION_CLOSED, f"question {op.question} is closed"
    if isinstance(op, QuestionClose):
        if by not in (question.by, state.owner):
            return ErrorCode.FORBIDDEN, "only the asker or the room owner can close a question"
    elif len(question.answers) >= MAX_ANSWERS:
        return ErrorCode.FORBIDDEN, f"a question holds at most {MAX_ANSWERS} answers"
    return None


def apply_question(state: RoomState, event: Event) -> None:
    """The effect of an accepted ``question.*`` event (rules already passed)."""
    op = event.op
    if isinstance(op, QuestionAsk):
        state.questions.append(
            Question(
                id=event.seq,
                by=event.by,
                ts=event.ts,
                to=list(op.to),
                text=op.text,
                product=op.product,
                line=op.line,
            )
        )
        if len(state.questions) > QUESTIONS_KEEP:
            del state.questions[: len(state.questions) - QUESTIONS_KEEP]
        return
    assert isinstance(op, (QuestionAnswer, QuestionClose))
    question = find_question(state, op.question)
    assert question is not None
    if isinstance(op, QuestionAnswer):
        question.answers.append(Answer(seq=event.seq, by=event.by, ts=event.ts, text=op.text))
    else:
        question.closed = True


def open_questions_for(state: RoomState, member: str) -> list[Question]:
    """Questions addressed to ``member`` that are not closed and that ``member`` has not
    answered yet, oldest first: what a member coming back is asked to look at first."""
    return [
        q
        for q in state.questions
        if member in q.to and not q.closed and all(answer.by != member for answer in q.answers)
    ]


def mentions_of(state: RoomState, member: str) -> list[int]:
    """Ids of the chat messages in the state that mention ``member``."""
    return [msg.id for msg in state.chat if member in msg.mentions]
