"""The product Q&A part of the room reducer (SPEC section 19): rules and effects of
``qa.ask``, ``qa.answer`` and ``qa.hide``, and their erasure. Pure; ``protocol.reducer``
calls these and wraps a refusal into its ``Rejection``."""

from __future__ import annotations

from protocol.errors import ErrorCode
from protocol.messages import Event, QaAnswer, QaAsk, QaHide, QaItem, RoomState

QA_KEEP = 100  # Q&A items (asks and answers) kept in the state; older ones leave the snapshot
QA_ERASED_TEXT = "[erased]"  # member.erase: the text of the erased member's asks

QA_SERVER_OPS = (QaAnswer, QaHide)


def find_answer(state: RoomState, answer: str) -> QaItem | None:
    for item in state.qa:
        if item.kind == "answer" and item.answer == answer:
            return item
    return None


def check_qa_server(state: RoomState, by: str, op: QaAnswer | QaHide) -> tuple[ErrorCode, str] | None:
    """Rules of the server-only Q&A ops (checked before the membership rules)."""
    if by != "":
        return ErrorCode.FORBIDDEN, f"{op.__struct_config__.tag} is a server event"
    found = find_answer(state, op.answer)
    if isinstance(op, QaAnswer):
        return None if found is None else (ErrorCode.FORBIDDEN, f"answer {op.answer} is already in the room")
    return None if found is not None else (ErrorCode.NOT_FOUND, f"answer {op.answer} is not in the room")


def apply_qa(state: RoomState, event: Event) -> None:
    """The effect of an accepted Q&A op."""
    op = event.op
    if isinstance(op, QaAsk):
        state.qa.append(
            QaItem(id=event.seq, kind="ask", ts=event.ts, product_id=op.product.id, text=op.text, by=event.by,
                   product=op.product)
        )  # fmt: skip
    elif isinstance(op, QaAnswer):
        state.qa.append(
            QaItem(id=event.seq, kind="answer", ts=event.ts, product_id=op.product_id, text=op.text,
                   thread=op.thread, answer=op.answer, name=op.name)
        )  # fmt: skip
    elif isinstance(op, QaHide):
        item = find_answer(state, op.answer)
        assert item is not None
        item.hidden = True
        item.text = ""
        item.name = ""
        return
    if len(state.qa) > QA_KEEP:
        del state.qa[: len(state.qa) - QA_KEEP]


def scrub_qa(state: RoomState, member: str) -> None:
    """Erasure: the text of ``member``'s asks becomes ``QA_ERASED_TEXT``."""
    for item in state.qa:
        if item.kind == "ask" and item.by == member:
            item.text = QA_ERASED_TEXT
