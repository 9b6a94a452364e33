"""Golden vector cases for mentions and questions (SPEC section 16): codec, reducer and
invalid frames. ``generate.py`` appends these to its own lists, like ``call_cases``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from protocol.errors import ErrorCode
from protocol.messages import (
    CartAdd,
    CartRemove,
    Chat,
    Event,
    MemberErase,
    MemberKick,
    Op,
    Product,
    QuestionAnswer,
    QuestionAsk,
    QuestionClose,
)
from protocol.questions import MAX_ANSWERS, MAX_OPEN_ASKED, QUESTIONS_KEEP

if TYPE_CHECKING:
    from protocol.vectors.generate import _Log

Direction = Literal["client", "server"]

OWNER, MEMBER, ASSOCIATE, VIEWER, OUTSIDER = "ana", "bo", "cy", "vic", "zed"
JACKET = Product(id="sku-4004", name="Rain jacket", price=8900, currency="EUR", variant="M")


def codec_messages(t0: int) -> list[tuple[str, Direction, Any]]:
    """(name, direction, message) for every question op and the chat mentions field."""
    ask_full = QuestionAsk(to=[MEMBER, ASSOCIATE], text="Ben, size M or L?", product=JACKET, line=7)
    bodies: list[tuple[str, Any]] = [
        ("chat/mentions", Chat(text="@Bo look at this", mentions=[MEMBER])),
        ("question.ask/minimal", QuestionAsk(to=[MEMBER], text="which one?")),
        ("question.ask/full", ask_full),
        ("question.answer", QuestionAnswer(question=12, text="M, it runs large")),
        ("question.close", QuestionClose(question=12)),
    ]
    out: list[tuple[str, Direction, Any]] = [
        (f"op/{name}", "client", Op(ref=f"q{i + 1}", op=body)) for i, (name, body) in enumerate(bodies)
    ]
    out += [
        (f"event/{name}", "server", Event(seq=12 + i, ts=t0 + (12 + i) * 1000, by=OWNER, op=body))
        for i, (name, body) in enumerate(bodies)
    ]
    return out


# ---- reducer cases: each takes the room log builder of generate.py -------------------------


def _case_chat_mentions(room: Callable[[], _Log]) -> _Log:
    log = room()
    log.ok(OWNER, Chat(text="@Bo @Vic look", mentions=[MEMBER, VIEWER]))  # viewers may be mentioned
    log.ok(MEMBER, Chat(text="@Ana me too", mentions=[OWNER, MEMBER]))  # yourself too
    log.noop(OWNER, Chat(text="@Zed?", mentions=[OUTSIDER]))  # not a member: invalid_field
    log.noop(OWNER, Chat(text="@Bo @Bo", mentions=[MEMBER, MEMBER]))  # twice: invalid_field
    log.ok(OWNER, MemberKick(member=ASSOCIATE))
    log.ok(OWNER, Chat(text="bye @Cy", mentions=[ASSOCIATE]))  # kicked members stay members
    log.ok(MEMBER, Chat(text="no mention", mentions=[]))
    return log


def _case_question_ask_answer_close(room: Callable[[], _Log]) -> _Log:
    log = room()
    line = log.ok(OWNER, CartAdd(product=JACKET))
    q = log.ok(OWNER, QuestionAsk(to=[MEMBER, ASSOCIATE], text="Bo, size M or L?", product=JACKET, line=line))
    log.ok(MEMBER, QuestionAnswer(question=q, text="M"))
    log.ok(ASSOCIATE, QuestionAnswer(question=q, text="L, it runs small"))
    log.ok(OWNER, QuestionAnswer(question=q, text="thanks!"))  # anyone but viewers may answer
    log.ok(OWNER, QuestionClose(question=q))
    log.noop(MEMBER, QuestionAnswer(question=q, text="late"))  # closed: question_closed
    log.noop(OWNER, QuestionClose(question=q))  # closed already: question_closed
    q2 = log.ok(MEMBER, QuestionAsk(to=[OWNER], text="free shipping?"))
    log.noop(ASSOCIATE, QuestionClose(question=q2))  # neither asker nor owner: forbidden
    log.ok(OWNER, QuestionClose(question=q2))  # the owner may close any question, unanswered
    q3 = log.ok(ASSOCIATE, QuestionAsk(to=[MEMBER], text="blue?"))
    log.ok(ASSOCIATE, QuestionClose(question=q3))  # the asker may close their own
    return log


def _case_question_rules(room: Callable[[], _Log]) -> _Log:
    log = room()
    line = log.ok(OWNER, CartAdd(product=JACKET))
    log.noop(OWNER, QuestionAsk(to=[OUTSIDER], text="?"))  # not a member: invalid_field
    log.noop(OWNER, QuestionAsk(to=[OWNER], text="?"))  # yourself: invalid_field
    log.noop(OWNER, QuestionAsk(to=[VIEWER], text="?"))  # a viewer cannot answer: invalid_field
    log.noop(OWNER, QuestionAsk(to=[MEMBER, MEMBER], text="?"))  # twice: invalid_field
    log.noop(OWNER, QuestionAsk(to=[MEMBER], text="?", line=99))  # no such line: not_found
    log.noop(VIEWER, QuestionAsk(to=[MEMBER], text="?"))  # viewers cannot ask: forbidden
    log.noop(OUTSIDER, QuestionAsk(to=[MEMBER], text="?"))  # not a member: forbidden
    q = log.ok(OWNER, QuestionAsk(to=[MEMBER], text="this one?", line=line))
    log.noop(VIEWER, QuestionAnswer(question=q, text="yes"))  # viewers cannot answer: forbidden
    log.noop(MEMBER, QuestionAnswer(question=99, text="yes"))  # no such question: not_found
    log.noop(MEMBER, QuestionClose(question=line))  # a cart line is not a question: not_found
    log.ok(OWNER, CartRemove(line=line))  # the question stays, naming a gone line
    log.ok(OWNER, MemberKick(member=MEMBER))
    log.noop(MEMBER, QuestionAnswer(question=q, text="yes"))  # kicked: kicked
    log.noop(OWNER, QuestionAsk(to=[MEMBER], text="still there?"))  # kicked: invalid_field
    log.ok(OWNER, QuestionAsk(to=[ASSOCIATE], text="and you?"))
    return log


def _case_question_limits(room: Callable[[], _Log]) -> _Log:
    log = room()
    first = log.ok(OWNER, QuestionAsk(to=[MEMBER], text="q0"))
    for i in range(1, MAX_OPEN_ASKED):
        log.ok(OWNER, QuestionAsk(to=[MEMBER], text=f"q{i}"))
    log.noop(OWNER, QuestionAsk(to=[MEMBER], text="one more"))  # 20 waiting: forbidden
    log.ok(MEMBER, QuestionAsk(to=[OWNER], text="others still may"))
    log.ok(MEMBER, QuestionAnswer(question=first, text="a0"))  # answered: no longer waiting
    log.ok(OWNER, QuestionAsk(to=[MEMBER], text="now it fits"))
    for i in range(1, MAX_ANSWERS):
        log.ok(MEMBER if i % 2 else ASSOCIATE, QuestionAnswer(question=first, text=f"a{i}"))
    log.noop(OWNER, QuestionAnswer(question=first, text="one too many"))  # 50 answers: forbidden
    return log


def _case_questions_keep_evicts_oldest(room: Callable[[], _Log]) -> _Log:
    log = room()
    first = log.ok(MEMBER, QuestionAsk(to=[OWNER], text="q0"))
    log.ok(OWNER, QuestionClose(question=first))
    for i in range(1, QUESTIONS_KEEP + 2):
        asker, to = (MEMBER, OWNER) if i % 2 else (ASSOCIATE, MEMBER)
        q = log.ok(asker, QuestionAsk(to=[to], text=f"q{i}"))
        log.ok(asker, QuestionClose(question=q))
    log.noop(OWNER, QuestionAnswer(question=first, text="evicted"))  # left the state: not_found
    return log


def _case_question_erasure(room: Callable[[], _Log]) -> _Log:
    log = room()
    line = log.ok(MEMBER, CartAdd(product=JACKET))
    q = log.ok(MEMBER, QuestionAsk(to=[OWNER], text="my size is 42, ok?", product=JACKET, line=line))
    log.ok(OWNER, QuestionAnswer(question=q, text="yes Bo"))
    q2 = log.ok(OWNER, QuestionAsk(to=[MEMBER, ASSOCIATE], text="Bo, M or L?"))
    log.ok(MEMBER, QuestionAnswer(question=q2, text="L, I live at 1 Main St"))
    log.ok(OWNER, Chat(text="@Bo thanks", mentions=[MEMBER]))
    log.ok("", MemberErase(member=MEMBER))  # Bo's question and answer texts are tombstoned
    log.ok(ASSOCIATE, QuestionAnswer(question=q2, text="M"))  # the question still folds
    log.ok(OWNER, QuestionClose(question=q))
    return log


REDUCER_CASES: dict[str, Callable[[Callable[[], _Log]], _Log]] = {
    name.removeprefix("_case_"): fn for name, fn in list(globals().items()) if name.startswith("_case_")
}

# ---- invalid.json ------------------------------------------------------------------------

_INVALID = ErrorCode.INVALID_FIELD


def _op(body: dict[str, Any]) -> dict[str, Any]:
    return {"t": "op", "ref": "r1", "op": body}


def _ask(**fields: Any) -> dict[str, Any]:
    return _op({"t": "question.ask", "to": [MEMBER], "text": "?", **fields})


JSON_INVALID: list[tuple[str, Any, ErrorCode]] = [
    ("chat/mentions-not-list", _op({"t": "chat", "text": "hi", "mentions": MEMBER}), _INVALID),
    ("chat/mentions-over-20", _op({"t": "chat", "text": "hi", "mentions": [f"m{i}" for i in range(21)]}), _INVALID),
    ("chat/mention-empty-id", _op({"t": "chat", "text": "hi", "mentions": [""]}), _INVALID),
    ("chat/mention-id-too-long", _op({"t": "chat", "text": "hi", "mentions": ["m" * 65]}), _INVALID),
    ("question.ask/missing-to", _op({"t": "question.ask", "text": "?"}), _INVALID),
    ("question.ask/to-empty", _ask(to=[]), _INVALID),
    ("question.ask/to-over-10", _ask(to=[f"m{i}" for i in range(11)]), _INVALID),
    ("question.ask/to-not-list", _ask(to=MEMBER), _INVALID),
    ("question.ask/text-empty", _ask(text=""), _INVALID),
    ("question.ask/text-over-2000", _ask(text="x" * 2001), _INVALID),
    ("question.ask/line-zero", _ask(line=0), _INVALID),
    ("question.ask/product-missing-name", _ask(product={"id": "p", "price": 1, "currency": "EUR"}), _INVALID),
    ("question.ask/unknown-field", _ask(poll=True), _INVALID),
    ("question.ask/nul-in-text", _ask(text="a\x00b"), _INVALID),
    ("question.answer/missing-text", _op({"t": "question.answer", "question": 3}), _INVALID),
    ("question.answer/question-string", _op({"t": "question.answer", "question": "3", "text": "y"}), _INVALID),
    ("question.answer/text-over-2000", _op({"t": "question.answer", "question": 3, "text": "y" * 2001}), _INVALID),
    ("question.close/missing-question", _op({"t": "question.close"}), _INVALID),
    ("question.close/question-negative", _op({"t": "question.close", "question": -1}), _INVALID),
    ("question.close/unknown-field", _op({"t": "question.close", "question": 3, "text": "x"}), _INVALID),
]

MSGPACK_INVALID: list[tuple[str, Any, ErrorCode]] = [
    ("question.ask/text-as-bin", _ask(text=b"?"), _INVALID),
    ("question.answer/question-float", _op({"t": "question.answer", "question": 3.0, "text": "y"}), _INVALID),
]
