"""Golden vector cases for read cursors, unread counts and away (SPEC section 15).

``generate.py`` appends these to its own lists (codec and invalid frames), and builds
``unread.json`` from ``unread_cases``: a member, the events after its cursor, and the
counts ``protocol/unread.py`` gives for them.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from protocol.errors import ErrorCode
from protocol.messages import (
    Away,
    CartAdd,
    CartQty,
    CartRemove,
    CartRevalidate,
    Chat,
    Event,
    EventBody,
    MemberJoin,
    PresenceMember,
    PresenceUpdate,
    Product,
    React,
    Read,
    ReadSignal,
    RoomRename,
    RoomState,
    Unread,
    Vote,
    Welcome,
)
from protocol.unread import count_unread

Direction = Literal["client", "server"]

OWNER, MEMBER = "ana", "bo"
_SHIRT = Product(id="sku-1", name="Shirt", price=2500, currency="EUR")


def codec_messages(t0: int) -> list[tuple[str, Direction, Any]]:
    common: dict[str, Any] = {"room": "r-9k2", "member": MEMBER, "role": "member", "epoch": "e-7f3a"}
    return [
        ("read/zero", "client", Read(seq=0)),
        ("read/max", "client", Read(seq=2**53)),
        ("away/on", "client", Away(on=True)),
        ("away/off", "client", Away(on=False)),
        ("read", "server", ReadSignal(seq=42)),
        (
            "welcome/read-unread",
            "server",
            Welcome(**common, seq=42, recovered=True, read=30, unread=Unread(messages=5, cart=3)),
        ),
        (
            "welcome/unread-full",
            "server",
            Welcome(
                **common, seq=42, recovered=True, read=2, unread=Unread(messages=1, cart=2, questions=3, mentions=4)
            ),
        ),
        (
            "presence/update-away",
            "server",
            PresenceUpdate(kind="update", member=PresenceMember(member=OWNER, name="Ana", role="owner", away=True)),
        ),
    ]


_INVALID = ErrorCode.INVALID_FIELD

JSON_INVALID: list[tuple[str, Any, ErrorCode]] = [
    ("read/missing-seq", {"t": "read"}, _INVALID),
    ("read/negative-seq", {"t": "read", "seq": -1}, _INVALID),
    ("read/seq-over-2^53", {"t": "read", "seq": 2**53 + 1}, _INVALID),
    ("read/seq-float", {"t": "read", "seq": 1.5}, _INVALID),
    ("read/seq-string", {"t": "read", "seq": "7"}, _INVALID),
    ("read/unknown-field", {"t": "read", "seq": 1, "member": "bo"}, _INVALID),
    ("away/missing-on", {"t": "away"}, _INVALID),
    ("away/on-null", {"t": "away", "on": None}, _INVALID),
    ("away/on-string", {"t": "away", "on": "yes"}, _INVALID),
]

MSGPACK_INVALID: list[tuple[str, Any, ErrorCode]] = [
    ("read/seq-uint64-max", {"t": "read", "seq": 2**64 - 1}, _INVALID),
    ("read/seq-float", {"t": "read", "seq": 3.0}, _INVALID),
    ("away/on-int", {"t": "away", "on": 1}, _INVALID),
]


def _events(bodies: list[tuple[str, EventBody]], t0: int) -> list[Event]:
    return [Event(seq=i + 10, ts=t0 + i * 1000, by=by, op=body) for i, (by, body) in enumerate(bodies)]


def unread_cases(t0: int) -> list[dict[str, Any]]:
    """``{name, member, events, unread}``: the counts for ``member`` of ``events`` (the
    tail after its cursor)."""
    tails: dict[str, list[tuple[str, EventBody]]] = {
        "nothing-after-the-cursor": [],
        "own-events-do-not-count": [(MEMBER, Chat(text="mine")), (MEMBER, CartAdd(product=_SHIRT))],
        "messages-and-cart-by-others": [
            (OWNER, Chat(text="this one?")),
            (OWNER, CartAdd(product=_SHIRT)),
            (OWNER, CartQty(line=11, qty=2)),
            (MEMBER, Chat(text="yes")),
            (OWNER, CartRemove(line=11)),
            (OWNER, Chat(text="ok", reply_to=10)),
        ],
        "server-revalidation-counts-as-cart": [("", CartRevalidate(line=3, price=2400))],
        "votes-reactions-joins-renames-do-not-count": [
            (OWNER, Vote(line=3, value="up")),
            (OWNER, React(msg=4, emoji="👍")),
            ("", MemberJoin(member="cy", name="Cy", role="member")),
            (OWNER, RoomRename(name="Trip")),
        ],
    }
    out = []
    for name, bodies in tails.items():
        events = _events(bodies, t0)
        unread = count_unread(RoomState(), events, MEMBER)
        out.append(
            {
                "name": name,
                "member": MEMBER,
                "events": msgspec.to_builtins(events),
                "unread": msgspec.to_builtins(unread),
            }
        )
    return out
