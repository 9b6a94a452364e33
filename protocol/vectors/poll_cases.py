"""Golden vector cases for polls (SPEC section 17): codec, reducer and invalid frames.

``generate.py`` appends these to its own lists, like ``call_cases``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from protocol.errors import ErrorCode
from protocol.messages import (
    CartAdd,
    CartRemove,
    Event,
    MemberErase,
    MemberKick,
    Op,
    PollClose,
    PollCreate,
    PollOption,
    PollVote,
    Product,
    RoomLock,
)
from protocol.polls import MAX_OPEN_POLLS, POLLS_KEEP

if TYPE_CHECKING:
    from protocol.vectors.generate import _Log

Direction = Literal["client", "server"]

OWNER, MEMBER, ASSOCIATE, VIEWER = "ana", "bo", "cy", "vic"
T0 = 1_767_225_600_000
DEADLINE = T0 + 86_400_000
JACKET_A = Product(id="sku-7001", name="Rain jacket", price=8900, currency="EUR", variant="M-green")
JACKET_B = Product(id="sku-7002", name="Wool jacket", price=15900, currency="EUR")
JACKET_C = Product(id="sku-7003", name="Denim jacket", price=6900, currency="EUR")


def _which(*lines: int, outcome: Literal["keep_winner", "post_result"] = "keep_winner") -> PollCreate:
    return PollCreate(
        question="Which one?", options=[PollOption(line=n) for n in lines], deadline=DEADLINE, outcome=outcome
    )


def codec_messages(t0: int) -> list[tuple[str, Direction, Any]]:
    mixed = PollCreate(
        question="Which jacket for Friday? 🧥",
        options=[
            PollOption(line=5, label="the green one"),
            PollOption(product=JACKET_B),
            PollOption(product=JACKET_C, label=""),
        ],
        deadline=t0 + 86_400_000,
        outcome="post_result",
    )
    return [
        ("op/poll.create-lines", "client", Op(ref="p1", op=_which(5, 6))),
        ("op/poll.create-mixed", "client", Op(ref="p2", op=mixed)),
        ("op/poll.vote", "client", Op(ref="p3", op=PollVote(poll=7, option=1))),
        ("op/poll.vote-clear", "client", Op(ref="p4", op=PollVote(poll=7))),
        ("event/poll.create", "server", Event(seq=7, ts=t0 + 7000, by=OWNER, op=_which(5, 6))),
        ("event/poll.vote", "server", Event(seq=8, ts=t0 + 8000, by=MEMBER, op=PollVote(poll=7, option=0))),
        (
            "event/poll.close",
            "server",
            Event(seq=9, ts=t0 + 9000, by="", op=PollClose(poll=7, tally=[2, 1], winner=0)),
        ),
        ("event/poll.close-tie", "server", Event(seq=9, ts=t0 + 9000, by="", op=PollClose(poll=7, tally=[1, 1]))),
    ]


# ---- reducer cases: each takes the room log builder of generate.py -------------------------


def _jackets(room: Callable[[], _Log]) -> _Log:
    """A room whose cart holds three jackets: lines 5, 6 and 7."""
    log = room()
    log.ok(OWNER, CartAdd(product=JACKET_A))
    log.ok(MEMBER, CartAdd(product=JACKET_B))
    log.ok(MEMBER, CartAdd(product=JACKET_C))
    return log


def _case_poll_keep_winner_removes_losers(room: Callable[[], _Log]) -> _Log:
    log = _jackets(room)
    poll = log.ok(OWNER, _which(5, 6, 7))
    log.ok(OWNER, PollVote(poll=poll, option=0))
    log.ok(MEMBER, PollVote(poll=poll, option=1))
    log.ok(ASSOCIATE, PollVote(poll=poll, option=1))
    log.ok(OWNER, PollVote(poll=poll, option=1))  # a vote changes until the close
    log.ok("", PollClose(poll=poll, tally=[0, 3, 0], winner=1))
    log.noop(MEMBER, PollVote(poll=poll, option=0))  # closed
    log.noop("", PollClose(poll=poll, tally=[0, 3, 0], winner=1))  # a second close folds as nothing
    return log


def _case_poll_tie_removes_nothing(room: Callable[[], _Log]) -> _Log:
    log = _jackets(room)
    poll = log.ok(OWNER, _which(5, 6))
    log.ok(OWNER, PollVote(poll=poll, option=0))
    log.ok(MEMBER, PollVote(poll=poll, option=1))
    log.ok("", PollClose(poll=poll, tally=[1, 1]))
    return log


def _case_poll_without_votes_removes_nothing(room: Callable[[], _Log]) -> _Log:
    log = _jackets(room)
    poll = log.ok(OWNER, _which(5, 6))
    log.ok(MEMBER, PollVote(poll=poll, option=0))
    log.ok(MEMBER, PollVote(poll=poll))  # cleared
    log.ok("", PollClose(poll=poll, tally=[0, 0]))
    return log


def _case_poll_close_computes_the_result_from_the_votes(room: Callable[[], _Log]) -> _Log:
    log = _jackets(room)
    poll = log.ok(MEMBER, _which(5, 6))
    log.ok(OWNER, PollVote(poll=poll, option=1))
    # the sequencing node had not seen the vote: the fold counts it anyway
    log.ok("", PollClose(poll=poll, tally=[0, 0]))
    return log


def _case_poll_post_result_keeps_the_cart(room: Callable[[], _Log]) -> _Log:
    log = _jackets(room)
    poll = log.ok(MEMBER, _which(5, 6, 7, outcome="post_result"))
    log.ok(OWNER, PollVote(poll=poll, option=2))
    log.ok("", PollClose(poll=poll, tally=[0, 0, 1], winner=2))
    return log


def _case_poll_products_and_gone_lines(room: Callable[[], _Log]) -> _Log:
    log = _jackets(room)
    options = [PollOption(product=JACKET_A, label="like mine"), PollOption(line=6), PollOption(line=7)]
    poll = log.ok(OWNER, PollCreate(question="Which?", options=options, deadline=DEADLINE, outcome="keep_winner"))
    log.ok(MEMBER, CartRemove(line=7))  # a line can leave while the poll is open
    log.ok(MEMBER, PollVote(poll=poll, option=0))
    log.ok("", PollClose(poll=poll, tally=[1, 0, 0], winner=0))  # removes line 6 only
    return log


def _case_poll_rules(room: Callable[[], _Log]) -> _Log:
    log = _jackets(room)
    log.noop(VIEWER, _which(5, 6))
    log.noop(OWNER, _which(5, 99))  # a line that is not in the cart
    log.noop(MEMBER, PollVote(poll=99, option=0))  # no such poll
    poll = log.ok(MEMBER, _which(5, 6))
    log.noop(MEMBER, PollVote(poll=poll, option=2))  # only two options
    log.noop(VIEWER, PollVote(poll=poll, option=0))
    log.noop(MEMBER, PollClose(poll=poll, tally=[0, 0]))  # a server event
    log.noop("", PollClose(poll=99))
    log.ok(OWNER, MemberKick(member=MEMBER))
    log.noop(MEMBER, PollVote(poll=poll, option=0))  # kicked
    log.ok(OWNER, RoomLock(locked=True))
    log.noop(ASSOCIATE, _which(5, 6))  # keep_winner edits the cart: refused in a locked room
    log.ok(ASSOCIATE, _which(5, 6, outcome="post_result"))
    log.ok(OWNER, _which(5, 6))
    return log


def _case_poll_open_limit_and_keep(room: Callable[[], _Log]) -> _Log:
    log = _jackets(room)
    polls = [log.ok(OWNER, _which(5, 6, outcome="post_result")) for _ in range(MAX_OPEN_POLLS)]
    log.noop(OWNER, _which(5, 6, outcome="post_result"))  # too many open polls
    for _ in range(POLLS_KEEP):
        log.ok("", PollClose(poll=polls.pop(0)))
        polls.append(log.ok(OWNER, _which(5, 6, outcome="post_result")))
    return log


def _case_poll_member_erase(room: Callable[[], _Log]) -> _Log:
    log = _jackets(room)
    options = [PollOption(line=5, label="mine"), PollOption(line=6, label="Bo's")]
    poll = log.ok(MEMBER, PollCreate(question="Bo asks", options=options, deadline=DEADLINE, outcome="keep_winner"))
    log.ok(MEMBER, PollVote(poll=poll, option=1))
    log.ok("", MemberErase(member=MEMBER))
    log.ok("", PollClose(poll=poll, tally=[0, 1], winner=1))  # the erased member's vote still counts
    return log


REDUCER_CASES: dict[str, Callable[[Callable[[], _Log]], _Log]] = {
    name.removeprefix("_case_"): fn for name, fn in list(globals().items()) if name.startswith("_case_")
}

# ---- invalid.json ------------------------------------------------------------------------

_INVALID = ErrorCode.INVALID_FIELD
_UNKNOWN = ErrorCode.UNKNOWN_TYPE
_LINE = {"line": 5}
_PRODUCT = {"id": "sku-1", "name": "Shirt", "price": 100, "currency": "EUR"}


def _create(**fields: Any) -> dict[str, Any]:
    body = {"t": "poll.create", "question": "Which?", "options": [_LINE, {"line": 6}], "deadline": DEADLINE}
    return {"t": "op", "ref": "r1", "op": {**body, "outcome": "keep_winner", **fields}}


def _vote(**fields: Any) -> dict[str, Any]:
    return {"t": "op", "ref": "r1", "op": {"t": "poll.vote", "poll": 7, **fields}}


JSON_INVALID: list[tuple[str, Any, ErrorCode]] = [
    ("poll.create/missing-question", _create(question=None), _INVALID),
    ("poll.create/empty-question", _create(question=""), _INVALID),
    ("poll.create/question-over-300", _create(question="q" * 301), _INVALID),
    ("poll.create/one-option", _create(options=[_LINE]), _INVALID),
    ("poll.create/seven-options", _create(options=[{"line": n} for n in range(1, 8)]), _INVALID),
    ("poll.create/option-empty", _create(options=[_LINE, {}]), _INVALID),
    ("poll.create/option-line-and-product", _create(options=[_LINE, {"line": 6, "product": _PRODUCT}]), _INVALID),
    ("poll.create/option-label-only", _create(options=[_LINE, {"label": "x"}]), _INVALID),
    ("poll.create/option-label-over-100", _create(options=[_LINE, {"line": 6, "label": "l" * 101}]), _INVALID),
    ("poll.create/option-line-zero", _create(options=[_LINE, {"line": 0}]), _INVALID),
    ("poll.create/option-unknown-field", _create(options=[_LINE, {"line": 6, "color": "red"}]), _INVALID),
    ("poll.create/same-line-twice", _create(options=[_LINE, _LINE]), _INVALID),
    ("poll.create/missing-deadline", _create(deadline=None), _INVALID),
    ("poll.create/deadline-negative", _create(deadline=-1), _INVALID),
    ("poll.create/deadline-string", _create(deadline="friday"), _INVALID),
    ("poll.create/bad-outcome", _create(outcome="keep_all"), _INVALID),
    ("poll.create/missing-outcome", _create(outcome=None), _INVALID),
    ("poll.create/nul-in-question", _create(question="which\x00"), _INVALID),
    ("poll.vote/missing-poll", {"t": "op", "ref": "r1", "op": {"t": "poll.vote", "option": 0}}, _INVALID),
    ("poll.vote/option-negative", _vote(option=-1), _INVALID),
    ("poll.vote/option-6", _vote(option=6), _INVALID),
    ("poll.vote/option-string", _vote(option="a"), _INVALID),
    ("poll.vote/unknown-field", _vote(option=0, weight=2), _INVALID),
    ("op/body-poll.close-is-server-only", {"t": "op", "ref": "r1", "op": {"t": "poll.close", "poll": 7}}, _INVALID),
    ("poll.close-is-server-only", {"t": "poll.close", "poll": 7}, _UNKNOWN),
]


def _drop_none(frame: dict[str, Any]) -> dict[str, Any]:
    """``_create(question=None)`` means "without the field"."""
    op = {k: v for k, v in frame["op"].items() if v is not None}
    return {**frame, "op": op}


JSON_INVALID = [(n, _drop_none(v) if n.startswith("poll.create/") else v, c) for n, v, c in JSON_INVALID]

MSGPACK_INVALID: list[tuple[str, Any, ErrorCode]] = [
    ("poll.create/question-as-bin", _create(question=b"Which?"), _INVALID),
    ("poll.vote/option-bool", _vote(option=True), _INVALID),
]
