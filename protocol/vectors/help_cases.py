"""Golden vector cases for the help queue (SPEC section 21): codec, reducer and invalid frames.

``generate.py`` appends these to its own lists, like ``call_cases``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from protocol.errors import ErrorCode
from protocol.messages import (
    Chat,
    Event,
    HelpClaim,
    HelpClose,
    HelpEscalate,
    HelpRequest,
    MemberErase,
    MemberJoin,
    MemberKick,
    Op,
    RoomClose,
)
from protocol.reducer import HELP_CLOSED_KEEP

if TYPE_CHECKING:
    from protocol.vectors.generate import _Log

Direction = Literal["client", "server"]

OWNER, MEMBER, VIEWER = "ana", "bo", "vic"
MIA = "as_mia"  # an associate's member id (the claim's token carries it)


def codec_messages(t0: int) -> list[tuple[str, Direction, Any]]:
    """(name, direction, message) for every help message, optional fields set and not."""
    return [
        ("op/help.request-online", "client", Op(ref="h1", op=HelpRequest())),
        (
            "op/help.request-in-store",
            "client",
            Op(ref="h2", op=HelpRequest(where="in_store", department="Shoes", note="Size 42 in blue?")),
        ),
        ("event/help.request", "server", Event(seq=7, ts=t0 + 7000, by=MEMBER, op=HelpRequest(where="in_store"))),
        (
            "event/help.claim",
            "server",
            Event(seq=8, ts=t0 + 8000, by="", op=HelpClaim(request=7, associate=MIA, name="Mia")),
        ),
        ("event/help.escalate", "server", Event(seq=9, ts=t0 + 9000, by="", op=HelpEscalate(request=7, level=1))),
        ("event/help.close", "server", Event(seq=10, ts=t0 + 10_000, by="", op=HelpClose(request=7, by=MIA))),
    ]


# ---- reducer cases: each takes the room log builder of generate.py -------------------------


def _case_help_request_claim_close(room: Callable[[], _Log]) -> _Log:
    log = room()
    req = log.ok(MEMBER, HelpRequest(where="in_store", department="Shoes", note="size 42?"))
    log.ok("", MemberJoin(member=MIA, name="Mia", role="associate"))
    log.ok("", HelpClaim(request=req, associate=MIA, name="Mia"))
    log.ok(MIA, Chat(text="On my way!"))
    log.ok("", HelpClose(request=req, by=MIA))
    log.ok(OWNER, HelpRequest())  # a new request once the last one closed
    return log


def _case_help_one_open_request_per_room(room: Callable[[], _Log]) -> _Log:
    log = room()
    req = log.ok(MEMBER, HelpRequest())
    log.noop(OWNER, HelpRequest(where="in_store"))  # help_pending
    log.ok("", HelpClaim(request=req, associate=MIA, name="Mia"))
    log.noop(MEMBER, HelpRequest())  # claimed is still pending
    return log


def _case_help_claim_twice_first_wins(room: Callable[[], _Log]) -> _Log:
    log = room()
    req = log.ok(MEMBER, HelpRequest())
    log.ok("", HelpClaim(request=req, associate=MIA, name="Mia"))
    log.noop("", HelpClaim(request=req, associate="as_leo", name="Leo"))  # already_claimed
    log.noop("", HelpClaim(request=99, associate=MIA, name="Mia"))  # no such request
    return log


def _case_help_escalate_levels(room: Callable[[], _Log]) -> _Log:
    log = room()
    req = log.ok(MEMBER, HelpRequest())
    log.ok("", HelpEscalate(request=req, level=1))
    log.noop("", HelpEscalate(request=req, level=1))  # the same timer again: idempotent
    log.ok("", HelpEscalate(request=req, level=2))
    log.ok("", HelpClaim(request=req, associate=MIA, name="Mia"))
    log.noop("", HelpEscalate(request=req, level=3))  # claimed: no more escalation
    return log


def _case_help_server_ops_by_members_are_noops(room: Callable[[], _Log]) -> _Log:
    log = room()
    req = log.ok(MEMBER, HelpRequest())
    log.noop(MEMBER, HelpClaim(request=req, associate=MEMBER, name="Bo"))
    log.noop(OWNER, HelpClose(request=req, by=OWNER))
    log.noop(MEMBER, HelpEscalate(request=req, level=1))
    log.ok("", HelpClose(request=req, by=MEMBER))
    log.noop("", HelpClose(request=req, by=MEMBER))  # closed already
    return log


def _case_help_viewer_and_kicked_refused(room: Callable[[], _Log]) -> _Log:
    log = room()
    log.noop(VIEWER, HelpRequest())
    log.ok(OWNER, MemberKick(member=MEMBER))
    log.noop(MEMBER, HelpRequest())
    log.ok(OWNER, HelpRequest(note="owner asks"))
    return log


def _case_help_closed_keep_evicts_oldest(room: Callable[[], _Log]) -> _Log:
    log = room()
    for _ in range(HELP_CLOSED_KEEP + 2):
        req = log.ok(MEMBER, HelpRequest())
        log.ok("", HelpClose(request=req, by=MEMBER))
    log.ok(MEMBER, HelpRequest(where="in_store"))
    return log


def _case_help_erase_drops_note_and_closed_room(room: Callable[[], _Log]) -> _Log:
    log = room()
    log.ok(MEMBER, HelpRequest(note="I am Bo, size 42"))
    log.ok("", MemberErase(member=MEMBER))
    log.ok("", RoomClose(reason="retention"))
    log.noop(OWNER, HelpRequest())
    return log


REDUCER_CASES: dict[str, Callable[[Callable[[], _Log]], _Log]] = {
    name.removeprefix("_case_"): fn for name, fn in list(globals().items()) if name.startswith("_case_")
}

# ---- invalid.json ------------------------------------------------------------------------

_INVALID = ErrorCode.INVALID_FIELD


def _help(**fields: Any) -> dict[str, Any]:
    return {"t": "op", "ref": "h1", "op": {"t": "help.request", **fields}}


JSON_INVALID: list[tuple[str, Any, ErrorCode]] = [
    ("help.request/bad-where", _help(where="home"), _INVALID),
    ("help.request/department-over-100", _help(department="d" * 101), _INVALID),
    ("help.request/note-over-500", _help(note="n" * 501), _INVALID),
    ("help.request/note-not-string", _help(note=5), _INVALID),
    ("help.request/unknown-field", _help(level=3), _INVALID),
    ("help.request/nul-in-note", _help(note="a\x00b"), _INVALID),
    ("op/body-help.claim-is-server-only", _help(t="help.claim", request=1, associate=MIA, name="Mia"), _INVALID),
    ("op/body-help.escalate-is-server-only", _help(t="help.escalate", request=1, level=1), _INVALID),
    ("op/body-help.close-is-server-only", _help(t="help.close", request=1, by=MEMBER), _INVALID),
]

MSGPACK_INVALID: list[tuple[str, Any, ErrorCode]] = [
    ("help.request/where-int", _help(where=1), _INVALID),
    ("help.request/note-over-500", _help(note="n" * 501), _INVALID),
]
