"""Golden vector cases for product Q&A (SPEC section 19): codec, reducer and invalid frames.

``generate.py`` appends these to its own lists (like ``call_cases``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from protocol.errors import ErrorCode
from protocol.messages import (
    Chat,
    Event,
    MemberErase,
    Op,
    Product,
    QaAnswer,
    QaAsk,
    QaHide,
    RoomClose,
)
from protocol.qa_fold import QA_KEEP

if TYPE_CHECKING:
    from protocol.vectors.generate import _Log

Direction = Literal["client", "server"]

OWNER, MEMBER, VIEWER = "ana", "bo", "vic"
JACKET = Product(id="sku-4004", name="Rain jacket", price=8900, currency="EUR", variant="M")
THREAD = "qt_5f2a9c1e"


def _answer(n: int, text: str = "True to size, I am 1.80 m and M fits.") -> QaAnswer:
    return QaAnswer(thread=THREAD, answer=f"qa_{n:08x}", product_id=JACKET.id, text=text, name="Dana")


def codec_messages(t0: int) -> list[tuple[str, Direction, Any]]:
    return [
        ("op/qa.ask", "client", Op(ref="q1", op=QaAsk(product=JACKET, text="Does it run small?"))),
        ("event/qa.ask", "server", Event(seq=12, ts=t0 + 12_000, by=MEMBER, op=QaAsk(product=JACKET, text="Warm?"))),
        ("event/qa.answer", "server", Event(seq=13, ts=t0 + 13_000, by="", op=_answer(1))),
        ("event/qa.hide", "server", Event(seq=14, ts=t0 + 14_000, by="", op=QaHide(answer="qa_00000001"))),
    ]


# ---- reducer cases: each takes the room log builder of generate.py -------------------------


def _case_qa_ask_answer_hide(room: Callable[[], _Log]) -> _Log:
    log = room()
    log.ok(MEMBER, QaAsk(product=JACKET, text="Does it run small?"))
    log.ok("", _answer(1))
    log.ok("", _answer(2, "Mine leaked at the zip."))
    log.ok(OWNER, Chat(text="thanks, past buyers"))
    log.ok("", QaHide(answer="qa_00000002"))  # tombstoned: hidden, no text, no name
    log.ok("", QaHide(answer="qa_00000002"))  # again: nothing more to hide
    return log


def _case_qa_rules(room: Callable[[], _Log]) -> _Log:
    log = room()
    log.noop(VIEWER, QaAsk(product=JACKET, text="viewers cannot ask"))
    log.noop("zed", QaAsk(product=JACKET, text="not a member"))
    log.noop(MEMBER, _answer(1))  # server only
    log.ok("", _answer(1))
    log.noop("", _answer(1))  # the same answer twice (a re-delivery): folded once
    log.noop(MEMBER, QaHide(answer="qa_00000001"))  # server only
    log.noop("", QaHide(answer="qa_0000ffff"))  # no such answer in the room
    log.ok("", RoomClose(reason="done"))
    log.noop("", _answer(3))  # closed room
    return log


def _case_qa_erase_tombstones_ask_text(room: Callable[[], _Log]) -> _Log:
    log = room()
    log.ok(MEMBER, QaAsk(product=JACKET, text="I am 1.62 m, which size?"))
    log.ok(OWNER, QaAsk(product=JACKET, text="Is it warm?"))
    log.ok("", _answer(1))
    log.ok("", MemberErase(member=MEMBER))
    return log


def _case_qa_keep_evicts_oldest(room: Callable[[], _Log]) -> _Log:
    log = room()
    log.ok(MEMBER, QaAsk(product=JACKET, text="first"))
    for n in range(QA_KEEP + 1):
        log.ok("", _answer(n, f"answer {n}"))
    log.noop("", QaHide(answer="qa_00000000"))  # evicted: no longer in the room
    return log


REDUCER_CASES: dict[str, Callable[[Callable[[], _Log]], _Log]] = {
    name.removeprefix("_case_"): fn for name, fn in list(globals().items()) if name.startswith("_case_")
}

# ---- invalid.json ------------------------------------------------------------------------

_INVALID = ErrorCode.INVALID_FIELD
_PRODUCT = {"id": "sku-1", "name": "Shirt", "price": 100, "currency": "EUR"}


def _op(body: dict[str, Any]) -> dict[str, Any]:
    return {"t": "op", "ref": "r1", "op": body}


JSON_INVALID: list[tuple[str, Any, ErrorCode]] = [
    ("qa.ask/missing-text", _op({"t": "qa.ask", "product": _PRODUCT}), _INVALID),
    ("qa.ask/empty-text", _op({"t": "qa.ask", "product": _PRODUCT, "text": ""}), _INVALID),
    ("qa.ask/text-over-2000", _op({"t": "qa.ask", "product": _PRODUCT, "text": "x" * 2001}), _INVALID),
    ("qa.ask/missing-product", _op({"t": "qa.ask", "text": "fit?"}), _INVALID),
    ("qa.ask/unknown-field", _op({"t": "qa.ask", "product": _PRODUCT, "text": "fit?", "public": True}), _INVALID),
    ("qa.ask/nul-in-text", _op({"t": "qa.ask", "product": _PRODUCT, "text": "fit\x00?"}), _INVALID),
    (
        "op/body-qa.answer-is-server-only",
        _op({"t": "qa.answer", "thread": "t", "answer": "a", "product_id": "p", "text": "x", "name": "n"}),
        _INVALID,
    ),
    ("op/body-qa.hide-is-server-only", _op({"t": "qa.hide", "answer": "a"}), _INVALID),
]

MSGPACK_INVALID: list[tuple[str, Any, ErrorCode]] = [
    ("qa.ask/text-as-bin", _op({"t": "qa.ask", "product": _PRODUCT, "text": b"fit?"}), _INVALID),
    ("qa.ask/text-over-2000", _op({"t": "qa.ask", "product": _PRODUCT, "text": "x" * 2001}), _INVALID),
]
