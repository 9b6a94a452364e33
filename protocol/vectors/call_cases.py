"""Golden vector cases for calls (SPEC section 14): codec, reducer and invalid frames.

``generate.py`` appends these to its own lists; they live here so the call protocol can
grow without making that module longer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from protocol.errors import ErrorCode
from protocol.messages import (
    CallEnd,
    CallInfo,
    CallJoin,
    CallLeave,
    CallStart,
    CallState,
    CallStateChange,
    Chat,
    Event,
    MemberKick,
    PresenceMember,
    PresenceUpdate,
    Signal,
    SignalRelay,
)

if TYPE_CHECKING:
    from protocol.vectors.generate import _Log

Direction = Literal["client", "server"]

OWNER, MEMBER, VIEWER = "ana", "bo", "vic"
SDP = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
CANDIDATE = "candidate:842163049 1 udp 1677729535 127.0.0.1 50000 typ host generation 0"


def codec_messages(t0: int) -> list[tuple[str, Direction, Any]]:
    """(name, direction, message) for every call message, optional fields set and not."""
    in_call = CallState(audio=True, video=True, camera=True)
    return [
        ("call.join/audio", "client", CallJoin(audio=True, video=False)),
        ("call.join/video", "client", CallJoin(audio=True, video=True)),
        ("call.leave", "client", CallLeave()),
        ("call.state/muted", "client", CallStateChange(muted=True)),
        ("call.state/all", "client", CallStateChange(muted=False, camera=False, speaking=True)),
        ("signal/offer", "client", Signal(to=MEMBER, kind="offer", sdp=SDP)),
        ("signal/answer", "client", Signal(to=OWNER, kind="answer", sdp=SDP)),
        ("signal/candidate", "client", Signal(to=MEMBER, kind="candidate", candidate=CANDIDATE, mid="0", mline=0)),
        ("signal/end-of-candidates", "client", Signal(to=MEMBER, kind="candidate", candidate="")),
        ("signal/bye", "client", Signal(to=MEMBER, kind="bye")),
        ("signal/to-relay", "client", Signal(to="", kind="offer", sdp=SDP)),
        ("signal/offer", "server", SignalRelay(from_=OWNER, kind="offer", sdp=SDP)),
        (
            "signal/candidate",
            "server",
            SignalRelay(from_=OWNER, kind="candidate", candidate=CANDIDATE, mid="0", mline=0),
        ),
        ("signal/bye-from-relay", "server", SignalRelay(from_="", kind="bye")),
        ("call/mesh", "server", CallInfo(mode="mesh", members=[OWNER, MEMBER])),
        ("call/relay", "server", CallInfo(mode="relay", members=[OWNER, MEMBER, "cy", "dee", "eve"])),
        ("call/empty", "server", CallInfo(mode="mesh")),
        (
            "presence/update-in-call",
            "server",
            PresenceUpdate(kind="update", member=PresenceMember(member=MEMBER, name="Bo", role="member", call=in_call)),
        ),
        (
            "presence/update-call-muted-speaking",
            "server",
            PresenceUpdate(
                kind="update",
                member=PresenceMember(
                    member=OWNER,
                    name="Ana",
                    role="owner",
                    call=CallState(audio=True, video=False, muted=True, speaking=True),
                ),
            ),
        ),
        (
            "presence/update-in-call-joined",
            "server",
            PresenceUpdate(
                kind="update",
                member=PresenceMember(
                    member=MEMBER,
                    name="Bo",
                    role="member",
                    call=CallState(audio=True, video=False, joined=t0 + 9000),  # roster order (SPEC 14.2)
                ),
            ),
        ),
        ("event/call.start", "server", Event(seq=9, ts=t0 + 9000, by="", op=CallStart(member=OWNER, video=True))),
        ("event/call.start-audio", "server", Event(seq=9, ts=t0 + 9000, by="", op=CallStart(member=OWNER))),
        ("event/call.end", "server", Event(seq=10, ts=t0 + 70_000, by="", op=CallEnd(duration_ms=61_000))),
    ]


# ---- reducer cases: each takes the room log builder of generate.py -------------------------


def _case_call_start_and_end(room: Callable[[], _Log]) -> _Log:
    log = room()
    log.ok("", CallStart(member=OWNER, video=True))
    log.ok(MEMBER, Chat(text="can you see the shelf?"))
    log.ok("", CallEnd(duration_ms=61_000))
    log.ok("", CallStart(member=MEMBER))  # a new call after the first ended
    return log


def _case_call_start_while_active_is_noop(room: Callable[[], _Log]) -> _Log:
    log = room()
    log.ok("", CallStart(member=OWNER))
    log.noop("", CallStart(member=MEMBER, video=True))  # two nodes raced: the first wins
    return log


def _case_call_end_without_call_is_noop(room: Callable[[], _Log]) -> _Log:
    log = room()
    log.noop("", CallEnd(duration_ms=5))
    log.ok("", CallStart(member=OWNER))
    log.ok("", CallEnd(duration_ms=5))
    log.noop("", CallEnd(duration_ms=6))
    return log


def _case_call_events_by_members_are_noops(room: Callable[[], _Log]) -> _Log:
    log = room()
    log.noop(OWNER, CallStart(member=OWNER))
    log.ok("", CallStart(member=OWNER))
    log.noop(MEMBER, CallEnd(duration_ms=1))
    log.ok(OWNER, MemberKick(member=MEMBER))  # a kick does not end the call by itself
    return log


REDUCER_CASES: dict[str, Callable[[Callable[[], _Log]], _Log]] = {
    name.removeprefix("_case_"): fn for name, fn in list(globals().items()) if name.startswith("_case_")
}

# ---- invalid.json ------------------------------------------------------------------------

_INVALID = ErrorCode.INVALID_FIELD
_UNKNOWN = ErrorCode.UNKNOWN_TYPE


def _sig(**fields: Any) -> dict[str, Any]:
    return {"t": "signal", "to": MEMBER, **fields}


JSON_INVALID: list[tuple[str, Any, ErrorCode]] = [
    ("call.join/missing-video", {"t": "call.join", "audio": True}, _INVALID),
    ("call.join/audio-not-bool", {"t": "call.join", "audio": 1, "video": False}, _INVALID),
    ("call.join/unknown-field", {"t": "call.join", "audio": True, "video": False, "screen": True}, _INVALID),
    ("call.leave/unknown-field", {"t": "call.leave", "now": True}, _INVALID),
    ("call.state/muted-string", {"t": "call.state", "muted": "yes"}, _INVALID),
    ("call.state/unknown-field", {"t": "call.state", "volume": 3}, _INVALID),
    ("call.start-is-server-only", {"t": "call.start", "member": OWNER}, _UNKNOWN),
    (
        "op/body-call.start-is-server-only",
        {"t": "op", "ref": "r1", "op": {"t": "call.start", "member": OWNER}},
        _INVALID,
    ),
    ("op/body-call.end-is-server-only", {"t": "op", "ref": "r1", "op": {"t": "call.end", "duration_ms": 1}}, _INVALID),
    ("signal/missing-to", {"t": "signal", "kind": "bye"}, _INVALID),
    ("signal/to-too-long", _sig(to="m" * 65, kind="bye"), _INVALID),
    ("signal/bad-kind", _sig(kind="hangup"), _INVALID),
    ("signal/offer-without-sdp", _sig(kind="offer"), _INVALID),
    ("signal/answer-empty-sdp", _sig(kind="answer", sdp=""), _INVALID),
    ("signal/offer-with-candidate", _sig(kind="offer", sdp="v=0", candidate="c"), _INVALID),
    ("signal/sdp-over-49152", _sig(kind="offer", sdp="v" * 49_153), _INVALID),
    ("signal/candidate-without-candidate", _sig(kind="candidate"), _INVALID),
    ("signal/candidate-over-1024", _sig(kind="candidate", candidate="c" * 1025), _INVALID),
    ("signal/candidate-with-sdp", _sig(kind="candidate", candidate="c", sdp="v=0"), _INVALID),
    ("signal/bye-with-sdp", _sig(kind="bye", sdp="v=0"), _INVALID),
    ("signal/mline-negative", _sig(kind="candidate", candidate="c", mline=-1), _INVALID),
    ("signal/mline-over-1023", _sig(kind="candidate", candidate="c", mline=1024), _INVALID),
    ("signal/mid-too-long", _sig(kind="candidate", candidate="c", mid="m" * 65), _INVALID),
    ("signal/from-is-server-only", _sig(kind="bye", **{"from": OWNER}), _INVALID),
    ("signal/nul-in-sdp", _sig(kind="offer", sdp="v=0\x00"), _INVALID),
    ("signal/nul-in-to", _sig(to="b\x00", kind="bye"), _INVALID),
]

MSGPACK_INVALID: list[tuple[str, Any, ErrorCode]] = [
    ("call.join/video-int", {"t": "call.join", "audio": True, "video": 0}, _INVALID),
    ("signal/sdp-as-bin", _sig(kind="offer", sdp=b"v=0"), _INVALID),
    ("signal/sdp-over-49152", _sig(kind="offer", sdp="v" * 49_153), _INVALID),
    ("signal/nul-in-candidate", _sig(kind="candidate", candidate="c\x00"), _INVALID),
]
