"""Build the golden vectors from the structs, the codecs and the reducer.

    python -m protocol.vectors.generate          # rewrite codec.json, reducer.json, invalid.json, session.json
    python -m protocol.vectors.generate --check  # exit 1 if a checked-in file differs

The checked-in files are the golden truth: tests compare the codecs and the reducer
against them, so a change of behaviour shows up as a diff of these files in review.
Every case is also checked here while it is built (a no-op case really is refused at its
position, an invalid frame really fails with the code it claims), so a case cannot
silently stop testing what its name says.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, Literal

import msgspec

from protocol.codec import JSON, MSGPACK
from protocol.errors import ErrorCode, ProtocolError
from protocol.messages import (
    Ack,
    CartAdd,
    CartQty,
    CartRemove,
    CartRevalidate,
    Chat,
    CheckoutLine,
    CheckoutRequest,
    CheckoutStart,
    Error,
    Event,
    EventBody,
    Focus,
    FocusSignal,
    Follow,
    FollowSignal,
    Hello,
    IceServer,
    Limits,
    LogGap,
    MemberErase,
    MemberJoin,
    MemberKick,
    Op,
    Ping,
    Pong,
    PresenceMember,
    PresenceUpdate,
    Product,
    React,
    Resume,
    RoomClose,
    RoomCreate,
    RoomLock,
    RoomRename,
    RoomState,
    Typing,
    TypingSignal,
    Vote,
    Welcome,
)
from protocol.reducer import CHAT_KEEP, CHECKOUTS_KEEP, MAX_REACTIONS_PER_MESSAGE, apply, check_rules, copy_state, fold
from protocol.vectors import VECTORS_DIR, call_cases, help_cases
from protocol.vectors.session_cases import session_cases

Direction = Literal["client", "server"]

# ---- shared fixtures -----------------------------------------------------------------

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in ms; event n has ts = T0 + n * 1000

SHIRT = Product(id="sku-1001", name="Linen shirt", price=4900, currency="EUR")
SHOES = Product(
    id="sku-2002",
    name="Trail shoes",
    price=12999,
    currency="USD",
    image="https://cdn.example.com/p/2002.jpg",
    url="https://shop.example.com/p/2002",
    variant="42-blue",
)
SHOES_RED = msgspec.structs.replace(SHOES, variant="42-red")
MUG = Product(id="sku-3003", name="Café mug ☕", price=0, currency="JPY")

OWNER, MEMBER, ASSOCIATE, VIEWER, OUTSIDER = "ana", "bo", "cy", "vic", "zed"
SERVER = ""  # `by` of server events

LIMITS = Limits(
    max_frame_bytes=65536,
    ops_per_second=20.0,
    ops_burst=40,
    max_members=50,
    max_chat_chars=2000,
    max_cart_lines=200,
)


# ---- codec.json ------------------------------------------------------------------------


def _codec_messages() -> list[tuple[str, Direction, Any]]:
    """(name, direction, message) for every message type and op body."""
    ops: list[tuple[str, Any]] = [
        ("cart.add/minimal", CartAdd(product=SHIRT)),
        ("cart.add/full", CartAdd(product=SHOES, qty=3)),
        ("cart.qty", CartQty(line=7, qty=2)),
        ("cart.remove", CartRemove(line=7)),
        ("vote/up", Vote(line=7, value="up")),
        ("vote/down", Vote(line=7, value="down")),
        ("vote/clear", Vote(line=7, value="clear")),
        ("chat/minimal", Chat(text="Ça me plaît 👍")),
        ("chat/full", Chat(text="This one?", product=MUG, reply_to=12)),
        ("react/on-default", React(msg=12, emoji="🔥")),
        ("react/off", React(msg=12, emoji="🔥", on=False)),
        ("room.rename", RoomRename(name="Sunday brunch")),
        ("room.lock/true", RoomLock(locked=True)),
        ("room.lock/false", RoomLock(locked=False)),
        ("member.kick", MemberKick(member=MEMBER)),
        ("checkout.request/all", CheckoutRequest(scope="all")),
        ("checkout.request/mine", CheckoutRequest(scope="mine")),
    ]
    out: list[tuple[str, Direction, Any]] = [
        ("hello/minimal", "client", Hello(token="v1.eyJyIjoicm9vbSJ9.c2ln")),
        (
            "hello/full",
            "client",
            Hello(
                token="v1.eyJyIjoicm9vbSJ9.c2ln",
                resume=Resume(epoch="e-7f3a", seq=41),
                client="cosession-js",
                version="1.2.0",
                device="phone",
            ),
        ),
    ]
    out += [(f"op/{name}", "client", Op(ref=f"r{i + 1}", op=body)) for i, (name, body) in enumerate(ops)]
    out += [
        ("focus/product", "client", Focus(product=SHOES)),
        ("focus/clear", "client", Focus()),
        ("typing/on", "client", Typing(on=True)),
        ("typing/off", "client", Typing(on=False)),
        ("follow/member", "client", Follow(member=OWNER)),
        ("follow/stop", "client", Follow()),
        ("ping/default", "client", Ping()),
        ("ping/nonce", "client", Ping(nonce=2**53)),
    ]

    # server -> client
    system: list[tuple[str, EventBody]] = [
        ("room.create", RoomCreate(name="Weekend haul", owner=OWNER, owner_name="Ana")),
        ("member.join", MemberJoin(member=MEMBER, name="Bo", role="member")),
        ("log.gap", LogGap()),
    ]
    later: list[tuple[str, EventBody]] = [
        ("cart.revalidate/minimal", CartRevalidate(line=7)),
        ("cart.revalidate/full", CartRevalidate(line=7, price=5200, in_stock=False)),
        ("checkout.start", _checkout_start(MEMBER, "mine", [SHIRT])),
    ]
    server_only = {name for name, _ in system + later[:2]}
    bodies = [*system, *[(n, b) for n, b in ops if not n.startswith("checkout.request")], *later]
    for i, (name, body) in enumerate(bodies):
        by = SERVER if name in server_only else (MEMBER if name == "checkout.start" else OWNER if i % 2 else MEMBER)
        out.append((f"event/{name}", "server", Event(seq=i + 1, ts=T0 + (i + 1) * 1000, by=by, op=body)))
    # server bodies of the admin API (room close, erasure)
    admin: list[tuple[str, EventBody]] = [
        ("room.close/minimal", RoomClose()),
        ("room.close/reason", RoomClose(reason="retention: idle 30 days")),
        ("member.erase", MemberErase(member=MEMBER)),
    ]
    for i, (name, body) in enumerate(admin, start=len(bodies)):
        out.append((f"event/{name}", "server", Event(seq=i + 1, ts=T0 + (i + 1) * 1000, by=SERVER, op=body)))

    events = [Event(seq=42, ts=T0 + 42_000, by=MEMBER, op=CartAdd(product=SHIRT, qty=2))]
    log = _room_log()
    log.ok(MEMBER, CartAdd(product=SHIRT, qty=2))
    log.ok(OWNER, Chat(text="hi", product=MUG))
    log.ok(MEMBER, React(msg=log.seq, emoji="👍"))
    log.ok(ASSOCIATE, Vote(line=log.seq - 2, value="up"))
    snapshot = copy_state(log.state)
    presence = [
        PresenceMember(member=OWNER, name="Ana", role="owner", device="desktop", connections=2, focus=SHOES),
        PresenceMember(member=MEMBER, name="Bo", role="member", following=OWNER),
        PresenceMember(member=ASSOCIATE, name="Cy", role="associate", device="phone"),
    ]
    ice = [
        IceServer(urls=["stun:stun.example.com:3478"]),
        IceServer(
            urls=["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349"],
            username="1767229200:bo",
            credential="c2VjcmV0",
        ),
    ]
    common: dict[str, Any] = {"room": "r-9k2", "member": MEMBER, "role": "member", "epoch": "e-7f3a"}
    out += [
        ("welcome/minimal", "server", Welcome(**common, seq=0, recovered=False)),
        (
            "welcome/recovered",
            "server",
            Welcome(
                **common,
                seq=42,
                recovered=True,
                events=events,
                presence=presence,
                limits=LIMITS,
                ice=ice,
                server="node-1",
            ),
        ),
        (
            "welcome/recovered-nothing-missed",
            "server",
            Welcome(**common, seq=42, recovered=True, presence=presence[:1], limits=LIMITS, server="node-1"),
        ),
        (
            "welcome/snapshot",
            "server",
            Welcome(
                **common,
                seq=snapshot.seq,
                recovered=False,
                snapshot=snapshot,
                presence=presence,
                limits=LIMITS,
                ice=ice,
                server="node-2",
            ),
        ),
        ("ack", "server", Ack(ref="r1", seq=43)),
        (
            "error/with-ref",
            "server",
            Error(code=ErrorCode.NOT_FOUND, message="cart line 7 is gone", ref="r2"),
        ),
        ("error/without-ref", "server", Error(code=ErrorCode.BAD_MESSAGE, message="undecodable frame")),
        (
            "presence/join-full",
            "server",
            PresenceUpdate(kind="join", member=presence[0]),
        ),
        (
            "presence/join-minimal",
            "server",
            PresenceUpdate(kind="join", member=PresenceMember(member=VIEWER, name="Vic", role="viewer")),
        ),
        ("presence/update", "server", PresenceUpdate(kind="update", member=presence[1])),
        ("presence/leave", "server", PresenceUpdate(kind="leave", member=presence[2])),
        ("focus/product", "server", FocusSignal(member=OWNER, product=SHOES)),
        ("focus/clear", "server", FocusSignal(member=OWNER)),
        ("typing/on", "server", TypingSignal(member=MEMBER, on=True)),
        ("typing/off", "server", TypingSignal(member=MEMBER, on=False)),
        ("follow/target", "server", FollowSignal(member=MEMBER, target=OWNER)),
        ("follow/stop", "server", FollowSignal(member=MEMBER)),
        ("pong/default", "server", Pong()),
        ("pong/nonce", "server", Pong(nonce=2**53)),
    ]
    out += call_cases.codec_messages(T0)
    out += help_cases.codec_messages(T0)
    return out


def codec_cases() -> list[dict[str, Any]]:
    cases = []
    for name, direction, msg in _codec_messages():
        text = JSON.encode(msg).decode("utf-8")
        binary = MSGPACK.encode(msg)
        for codec, frame in ((JSON, text), (MSGPACK, binary)):
            decode = codec.decode_client if direction == "client" else codec.decode_server
            assert decode(frame) == msg, name
        cases.append({"name": f"{direction}/{name}", "direction": direction, "json": text, "msgpack_hex": binary.hex()})
    return cases


def _checkout_start(
    by: str, scope: Literal["all", "mine"], products: list[Product], sig: str = "c2ln"
) -> CheckoutStart:
    """A checkout snapshot as the server builds it (the signature is opaque to the reducer)."""
    lines = [
        CheckoutLine(line=5 + i, product=p, qty=1, price=p.price, added_by=by, added_by_name=by.title())
        for i, p in enumerate(products)
    ]
    return CheckoutStart(
        id="co.r_demo.0001",
        room="r_demo",
        tenant="",
        scope=scope,
        requested_by=by,
        requested_by_name=by.title(),
        lines=lines,
        created_at=T0,
        expires_at=T0 + 1_800_000,
        sig="c2ln",
    )


# ---- reducer.json ----------------------------------------------------------------------


class _Log:
    """Builds an event log, checking that each op is accepted or refused as intended."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.state = RoomState()

    @property
    def seq(self) -> int:
        return len(self.events)

    def _add(self, by: str, op: EventBody, *, accepted: bool) -> int:
        refusal = check_rules(self.state, by, op)
        assert (refusal is None) == accepted, (by, op, refusal)
        seq = self.seq + 1
        event = Event(seq=seq, ts=T0 + seq * 1000, by=by, op=op)
        self.events.append(event)
        apply(self.state, event)
        return seq

    def ok(self, by: str, op: EventBody) -> int:
        return self._add(by, op, accepted=True)

    def noop(self, by: str, op: EventBody) -> int:
        return self._add(by, op, accepted=False)


def _room_log() -> _Log:
    """A room with an owner, a member, an associate and a viewer."""
    log = _Log()
    log.ok(SERVER, RoomCreate(name="Weekend haul", owner=OWNER, owner_name="Ana"))
    log.ok(SERVER, MemberJoin(member=MEMBER, name="Bo", role="member"))
    log.ok(SERVER, MemberJoin(member=ASSOCIATE, name="Cy", role="associate"))
    log.ok(SERVER, MemberJoin(member=VIEWER, name="Vic", role="viewer"))
    return log


def _case_room_create() -> _Log:
    log = _Log()
    log.ok(SERVER, RoomCreate(name="Weekend haul", owner=OWNER, owner_name="Ana"))
    return log


def _case_room_create_twice_is_noop() -> _Log:
    log = _case_room_create()
    log.noop(SERVER, RoomCreate(name="Hijack", owner=OUTSIDER, owner_name="Zed"))
    return log


def _case_ops_before_room_create_are_noops() -> _Log:
    log = _Log()
    log.noop(OWNER, CartAdd(product=SHIRT))
    # room.create is only valid as the very first event (seq 1)
    log.noop(SERVER, RoomCreate(name="Too late", owner=OWNER, owner_name="Ana"))
    return log


def _case_member_join_roles() -> _Log:
    return _room_log()


def _case_member_join_by_client_is_noop() -> _Log:
    log = _case_room_create()
    log.noop(OWNER, MemberJoin(member=MEMBER, name="Bo", role="member"))
    return log


def _case_log_gap_changes_nothing_but_seq() -> _Log:
    log = _room_log()
    log.ok(SERVER, LogGap())
    log.noop(MEMBER, LogGap())  # server-only
    log.ok(MEMBER, CartAdd(product=SHIRT))
    return log


def _case_member_join_again_replaces_name_and_role() -> _Log:
    log = _room_log()
    log.ok(SERVER, MemberJoin(member=MEMBER, name="Bo B.", role="viewer"))
    log.noop(MEMBER, CartAdd(product=SHIRT))  # now a viewer
    return log


def _case_cart_add_new_lines() -> _Log:
    log = _room_log()
    log.ok(MEMBER, CartAdd(product=SHIRT))
    log.ok(ASSOCIATE, CartAdd(product=SHOES, qty=2))
    log.ok(OWNER, CartAdd(product=MUG, qty=999))
    return log


def _case_cart_add_merges_same_product_and_variant() -> _Log:
    log = _room_log()
    log.ok(MEMBER, CartAdd(product=SHOES, qty=2))
    # same id + variant: merges; the line keeps its first product data and adder
    log.ok(ASSOCIATE, CartAdd(product=msgspec.structs.replace(SHOES, price=9999, name="Shoes (sale)"), qty=3))
    log.ok(OWNER, CartAdd(product=SHOES_RED))  # other variant: new line
    log.ok(OWNER, CartAdd(product=msgspec.structs.replace(SHOES, variant=None)))  # no variant: new line
    log.ok(MEMBER, CartAdd(product=msgspec.structs.replace(SHOES, variant="")))  # "" is not None: new line
    log.ok(MEMBER, CartAdd(product=SHOES_RED, qty=4))
    return log


def _case_cart_add_merge_caps_qty_at_999() -> _Log:
    log = _room_log()
    log.ok(MEMBER, CartAdd(product=SHIRT, qty=600))
    log.ok(ASSOCIATE, CartAdd(product=SHIRT, qty=600))
    log.ok(OWNER, CartAdd(product=SHIRT, qty=1))
    return log


def _case_cart_qty_sets_quantity() -> _Log:
    log = _room_log()
    line = log.ok(MEMBER, CartAdd(product=SHIRT, qty=2))
    log.ok(ASSOCIATE, CartQty(line=line, qty=5))
    log.ok(OWNER, CartQty(line=line, qty=1))
    return log


def _case_cart_remove_and_add_again() -> _Log:
    log = _room_log()
    first = log.ok(MEMBER, CartAdd(product=SHIRT, qty=2))
    log.ok(OWNER, CartAdd(product=MUG))
    log.ok(ASSOCIATE, CartRemove(line=first))
    log.ok(MEMBER, CartAdd(product=SHIRT))  # a new line with a new id
    return log


def _case_ops_on_removed_line_are_noops() -> _Log:
    log = _room_log()
    line = log.ok(MEMBER, CartAdd(product=SHIRT))
    log.ok(OWNER, CartRemove(line=line))
    log.noop(MEMBER, CartQty(line=line, qty=3))
    log.noop(ASSOCIATE, CartRemove(line=line))
    log.noop(MEMBER, Vote(line=line, value="up"))
    log.noop(MEMBER, CartQty(line=99, qty=1))  # never existed
    return log


def _case_votes_up_down_clear() -> _Log:
    log = _room_log()
    line = log.ok(MEMBER, CartAdd(product=SHOES))
    log.ok(MEMBER, Vote(line=line, value="up"))
    log.ok(ASSOCIATE, Vote(line=line, value="down"))
    log.ok(OWNER, Vote(line=line, value="up"))
    log.ok(OWNER, Vote(line=line, value="clear"))
    log.ok(MEMBER, Vote(line=line, value="down"))  # changes the vote
    log.ok(OWNER, Vote(line=line, value="clear"))  # nothing to clear: no change
    log.noop(VIEWER, Vote(line=line, value="up"))
    return log


def _case_chat_messages() -> _Log:
    log = _room_log()
    first = log.ok(MEMBER, Chat(text="Which colour?"))
    log.ok(OWNER, Chat(text="This one ☕", product=MUG, reply_to=first))
    log.ok(ASSOCIATE, Chat(text="In stock in Lyon", reply_to=first))
    return log


def _case_chat_reply_to_missing_message_is_noop() -> _Log:
    log = _room_log()
    log.ok(MEMBER, Chat(text="hello"))
    log.noop(OWNER, Chat(text="to nowhere", reply_to=99))
    log.noop(OWNER, Chat(text="to a non-chat event", reply_to=1))
    return log


def _case_react_on_off() -> _Log:
    log = _room_log()
    msg = log.ok(MEMBER, Chat(text="Look!"))
    log.ok(MEMBER, React(msg=msg, emoji="👍"))
    log.ok(ASSOCIATE, React(msg=msg, emoji="👍"))
    log.ok(OWNER, React(msg=msg, emoji="❤️"))
    log.ok(ASSOCIATE, React(msg=msg, emoji="👍"))  # already on: no change
    log.ok(OWNER, React(msg=msg, emoji="👍"))
    log.ok(MEMBER, React(msg=msg, emoji="👍", on=False))  # keeps the others' order
    log.ok(OWNER, React(msg=msg, emoji="❤️", on=False))  # last one off: emoji gone
    log.ok(MEMBER, React(msg=msg, emoji="😮", on=False))  # not on: no change
    return log


def _case_react_on_missing_message_is_noop() -> _Log:
    log = _room_log()
    line = log.ok(MEMBER, CartAdd(product=SHIRT))
    log.noop(OWNER, React(msg=99, emoji="👍"))
    log.noop(OWNER, React(msg=line, emoji="👍"))  # a cart.add is not a chat message
    log.noop(OWNER, React(msg=99, emoji="👍", on=False))
    return log


def _case_react_distinct_emoji_limit() -> _Log:
    log = _room_log()
    msg = log.ok(MEMBER, Chat(text="react away"))
    emoji = [chr(0x1F600 + i) for i in range(MAX_REACTIONS_PER_MESSAGE + 1)]
    for e in emoji[:MAX_REACTIONS_PER_MESSAGE]:
        log.ok(OWNER, React(msg=msg, emoji=e))
    log.noop(MEMBER, React(msg=msg, emoji=emoji[-1]))  # one distinct emoji too many
    log.ok(MEMBER, React(msg=msg, emoji=emoji[0]))  # an existing emoji is fine
    log.ok(OWNER, React(msg=msg, emoji=emoji[1], on=False))
    log.ok(MEMBER, React(msg=msg, emoji=emoji[-1]))  # room again after one went away
    return log


def _case_room_rename() -> _Log:
    log = _room_log()
    log.ok(OWNER, RoomRename(name="Sunday brunch"))
    log.noop(MEMBER, RoomRename(name="Bo's room"))
    log.noop(ASSOCIATE, RoomRename(name="Store"))
    return log


def _case_room_lock() -> _Log:
    log = _room_log()
    line = log.ok(MEMBER, CartAdd(product=SHIRT))
    log.noop(MEMBER, RoomLock(locked=True))  # owner only
    log.ok(OWNER, RoomLock(locked=True))
    log.noop(MEMBER, CartAdd(product=MUG))
    log.noop(ASSOCIATE, CartQty(line=line, qty=4))
    log.noop(MEMBER, CartRemove(line=line))
    log.ok(MEMBER, Vote(line=line, value="up"))  # votes and chat still allowed
    log.ok(MEMBER, Chat(text="why locked?"))
    log.ok(OWNER, CartAdd(product=SHOES))  # the owner still edits
    log.ok(OWNER, CartQty(line=line, qty=2))
    log.ok(OWNER, RoomLock(locked=False))
    log.ok(MEMBER, CartAdd(product=MUG))
    return log


def _case_member_kick() -> _Log:
    log = _room_log()
    line = log.ok(MEMBER, CartAdd(product=SHIRT))
    log.ok(MEMBER, Vote(line=line, value="up"))
    msg = log.ok(MEMBER, Chat(text="bye?"))
    log.ok(OWNER, MemberKick(member=MEMBER))
    # contributions stay; everything the kicked member does afterwards is a no-op
    log.noop(MEMBER, CartAdd(product=MUG))
    log.noop(MEMBER, CartQty(line=line, qty=9))
    log.noop(MEMBER, Vote(line=line, value="down"))
    log.noop(MEMBER, Chat(text="still here"))
    log.noop(MEMBER, React(msg=msg, emoji="😢"))
    log.noop(SERVER, MemberJoin(member=MEMBER, name="Bo again", role="member"))  # no way back
    log.noop(OWNER, MemberKick(member=MEMBER))  # already kicked
    return log


def _case_member_kick_rules() -> _Log:
    log = _room_log()
    log.noop(MEMBER, MemberKick(member=ASSOCIATE))  # owner only
    log.noop(OWNER, MemberKick(member=OWNER))  # the owner cannot be kicked
    log.noop(OWNER, MemberKick(member=OUTSIDER))  # not in the room
    log.ok(OWNER, MemberKick(member=VIEWER))
    return log


def _case_viewer_cannot_change_anything() -> _Log:
    log = _room_log()
    line = log.ok(MEMBER, CartAdd(product=SHIRT))
    msg = log.ok(MEMBER, Chat(text="hi"))
    log.noop(VIEWER, CartAdd(product=MUG))
    log.noop(VIEWER, CartQty(line=line, qty=2))
    log.noop(VIEWER, CartRemove(line=line))
    log.noop(VIEWER, Vote(line=line, value="down"))
    log.noop(VIEWER, Chat(text="can I?"))
    log.noop(VIEWER, React(msg=msg, emoji="👍"))
    log.noop(VIEWER, RoomRename(name="mine"))
    return log


def _case_non_member_ops_are_noops() -> _Log:
    log = _room_log()
    line = log.ok(MEMBER, CartAdd(product=SHIRT))
    log.noop(OUTSIDER, CartAdd(product=MUG))
    log.noop(OUTSIDER, CartRemove(line=line))
    log.noop(OUTSIDER, Chat(text="hi"))
    log.noop(SERVER, CartAdd(product=MUG))  # the server is not a member either
    return log


def _case_chat_keep_evicts_oldest() -> _Log:
    log = _room_log()
    first = log.seq + 1
    for i in range(CHAT_KEEP + 5):
        log.ok(MEMBER if i % 2 else ASSOCIATE, Chat(text=f"m{i}"))
    evicted, oldest_kept = first + 4, first + 5
    log.noop(OWNER, React(msg=evicted, emoji="👍"))
    log.noop(OWNER, Chat(text="late reply", reply_to=first))
    log.ok(OWNER, React(msg=oldest_kept, emoji="👍"))
    log.ok(OWNER, Chat(text="reply to the oldest kept", reply_to=oldest_kept))  # evicts one more
    return log


def _case_room_close() -> _Log:
    log = _room_log()
    line = log.ok(MEMBER, CartAdd(product=SHIRT))
    log.noop(OWNER, RoomClose())  # server only
    log.ok(SERVER, RoomClose(reason="closed by the retailer"))
    # every later op is a no-op: members, the owner, new members, the server
    log.noop(MEMBER, CartQty(line=line, qty=2))
    log.noop(OWNER, Chat(text="still open?"))
    log.noop(OWNER, RoomLock(locked=True))
    log.noop(SERVER, MemberJoin(member=OUTSIDER, name="Zed", role="member"))
    log.noop(SERVER, RoomClose())  # already closed
    log.ok(SERVER, MemberErase(member=MEMBER))  # erasure still works in a closed room
    return log


def _case_member_erase() -> _Log:
    log = _room_log()
    line = log.ok(MEMBER, CartAdd(product=SHIRT))
    log.ok(OWNER, Vote(line=line, value="up"))
    msg = log.ok(MEMBER, Chat(text="my address is 1 Main St", product=MUG))
    log.ok(OWNER, React(msg=msg, emoji="👍"))
    log.ok(OWNER, Chat(text="ok Bo", reply_to=msg))
    log.noop(MEMBER, MemberErase(member=MEMBER))  # server only
    log.noop(SERVER, MemberErase(member=OUTSIDER))  # not in the room
    log.ok(SERVER, MemberErase(member=MEMBER))
    # name "", kicked and erased; chat text tombstoned; the line loses its author
    log.noop(MEMBER, Chat(text="back"))
    log.noop(SERVER, MemberJoin(member=MEMBER, name="Bo again", role="member"))  # no way back
    log.ok(SERVER, MemberErase(member=MEMBER))  # again: nothing more to erase
    log.ok(SERVER, MemberErase(member=OWNER))  # the owner too
    return log


def _case_cart_revalidate_price_and_stock() -> _Log:
    log = _room_log()
    line = log.ok(MEMBER, CartAdd(product=SHIRT))
    log.ok(SERVER, CartRevalidate(line=line, price=5200))  # price_changed {old: 4900, new: 5200}
    log.ok(SERVER, CartRevalidate(line=line, in_stock=False))  # price unknown: price_changed kept
    other = log.ok(MEMBER, CartAdd(product=MUG))
    log.ok(SERVER, CartRevalidate(line=other, price=0))  # same price: nothing changed
    log.noop(MEMBER, CartRevalidate(line=line, price=1))  # server only
    log.noop(SERVER, CartRevalidate(line=99, price=1))  # no such line
    return log


def _case_cart_revalidate_back_to_old_price_clears() -> _Log:
    log = _room_log()
    line = log.ok(MEMBER, CartAdd(product=SHIRT))
    log.ok(SERVER, CartRevalidate(line=line, price=5200, in_stock=False))
    log.ok(SERVER, CartRevalidate(line=line, price=4900))
    return log


def _case_checkout_start_rules() -> _Log:
    log = _room_log()
    log.ok(MEMBER, CartAdd(product=SHIRT))
    log.ok(OWNER, CartAdd(product=MUG))
    log.ok(OWNER, _checkout_start(OWNER, "all", [SHIRT, MUG]))
    log.ok(MEMBER, _checkout_start(MEMBER, "mine", [SHIRT]))
    log.noop(MEMBER, _checkout_start(MEMBER, "all", [SHIRT]))  # whole cart: owner only
    log.noop(VIEWER, _checkout_start(VIEWER, "mine", [SHIRT]))  # viewers cannot
    log.noop(MEMBER, _checkout_start(OWNER, "mine", [SHIRT]))  # names another requester
    log.noop(ASSOCIATE, _checkout_start(ASSOCIATE, "mine", []))  # empty
    log.noop(SERVER, _checkout_start(SERVER, "mine", [SHIRT]))  # not a member
    return log


def _case_checkout_keep_evicts_oldest() -> _Log:
    log = _room_log()
    log.ok(OWNER, CartAdd(product=SHIRT))
    for _ in range(CHECKOUTS_KEEP + 2):
        log.ok(OWNER, _checkout_start(OWNER, "mine", [SHIRT]))
    return log


REDUCER_CASES: dict[str, Callable[[], _Log]] = {
    name.removeprefix("_case_"): fn for name, fn in list(globals().items()) if name.startswith("_case_")
}
REDUCER_CASES.update(
    {name: (lambda fn=fn: fn(_room_log)) for name, fn in call_cases.REDUCER_CASES.items()}  # type: ignore[misc]
)
REDUCER_CASES.update(
    {name: (lambda fn=fn: fn(_room_log)) for name, fn in help_cases.REDUCER_CASES.items()}  # type: ignore[misc]
)


def reducer_cases() -> list[dict[str, Any]]:
    cases = []
    for name, build in REDUCER_CASES.items():
        events = build().events
        state = fold(events)
        assert copy_state(state) == state
        cases.append(
            {
                "name": name,
                "events": [msgspec.to_builtins(e) for e in events],
                "state": msgspec.to_builtins(state),
            }
        )
    return cases


# ---- invalid.json ----------------------------------------------------------------------

_PRODUCT = {"id": "sku-1", "name": "Shirt", "price": 100, "currency": "EUR"}


def _op(body: dict[str, Any], ref: Any = "r1") -> dict[str, Any]:
    return {"t": "op", "ref": ref, "op": body}


def _add(**product: Any) -> dict[str, Any]:
    return _op({"t": "cart.add", "product": {**_PRODUCT, **product}})


class Raw(bytes):
    """A frame given as its exact bytes (JSON text in UTF-8), not as a value to encode."""


_BAD = ErrorCode.BAD_MESSAGE
_UNKNOWN = ErrorCode.UNKNOWN_TYPE
_INVALID = ErrorCode.INVALID_FIELD

# (name, value to encode as JSON or Raw text, expected code)
_JSON_INVALID: list[tuple[str, Any, ErrorCode]] = [
    ("not-json", Raw(b"nope"), _BAD),
    ("truncated", Raw(b'{"t":"ping"'), _BAD),
    ("empty", Raw(b""), _BAD),
    ("trailing-garbage", Raw(b'{"t":"ping"} x'), _BAD),
    ("single-quotes", Raw(b"{'t':'ping'}"), _BAD),
    ("nan-literal", Raw(b'{"t":"ping","nonce":NaN}'), _BAD),
    ("top-level-array", [{"t": "ping"}], _BAD),
    ("top-level-string", "ping", _BAD),
    ("top-level-number", 7, _BAD),
    ("top-level-null", None, _BAD),
    ("missing-t", {"token": "x"}, _UNKNOWN),
    ("t-not-a-string", {"t": 5}, _UNKNOWN),
    ("t-null", {"t": None}, _UNKNOWN),
    ("t-unknown", {"t": "nope"}, _UNKNOWN),
    ("t-is-a-server-type", {"t": "welcome"}, _UNKNOWN),
    ("t-wrong-case", {"t": "Hello", "token": "x"}, _UNKNOWN),
    ("hello/missing-token", {"t": "hello"}, _INVALID),
    ("hello/empty-token", {"t": "hello", "token": ""}, _INVALID),
    ("hello/token-too-long", {"t": "hello", "token": "x" * 2049}, _INVALID),
    ("hello/unknown-field", {"t": "hello", "token": "x", "color": "red"}, _INVALID),
    ("hello/bad-device", {"t": "hello", "token": "x", "device": "fridge"}, _INVALID),
    (
        "hello/resume-negative-seq",
        {"t": "hello", "token": "x", "resume": {"epoch": "e", "seq": -1}},
        _INVALID,
    ),
    (
        "hello/resume-seq-over-2^53",
        {"t": "hello", "token": "x", "resume": {"epoch": "e", "seq": 2**53 + 1}},
        _INVALID,
    ),
    ("hello/resume-empty-epoch", {"t": "hello", "token": "x", "resume": {"epoch": "", "seq": 0}}, _INVALID),
    ("hello/resume-missing-seq", {"t": "hello", "token": "x", "resume": {"epoch": "e"}}, _INVALID),
    ("op/missing-ref", {"t": "op", "op": {"t": "cart.remove", "line": 1}}, _INVALID),
    ("op/empty-ref", _op({"t": "cart.remove", "line": 1}, ref=""), _INVALID),
    ("op/ref-too-long", _op({"t": "cart.remove", "line": 1}, ref="r" * 65), _INVALID),
    ("op/ref-not-a-string", _op({"t": "cart.remove", "line": 1}, ref=1), _INVALID),
    ("op/missing-body", {"t": "op", "ref": "r1"}, _INVALID),
    ("op/body-not-a-map", _op("cart.add"), _INVALID),  # type: ignore[arg-type]
    ("op/body-null", _op(None), _INVALID),  # type: ignore[arg-type]
    ("op/body-missing-t", _op({"line": 1}), _INVALID),
    ("op/body-unknown-type", _op({"t": "cart.clear"}), _INVALID),
    (
        "op/body-room.create-is-server-only",
        _op({"t": "room.create", "name": "x", "owner": "o", "owner_name": "O"}),
        _INVALID,
    ),
    (
        "op/body-member.join-is-server-only",
        _op({"t": "member.join", "member": "m", "name": "M", "role": "owner"}),
        _INVALID,
    ),
    ("op/body-unknown-field", _op({"t": "cart.remove", "line": 1, "force": True}), _INVALID),
    ("cart.add/missing-product", _op({"t": "cart.add"}), _INVALID),
    ("cart.add/qty-zero", _op({"t": "cart.add", "product": _PRODUCT, "qty": 0}), _INVALID),
    ("cart.add/qty-over-999", _op({"t": "cart.add", "product": _PRODUCT, "qty": 1000}), _INVALID),
    ("cart.add/qty-float", _op({"t": "cart.add", "product": _PRODUCT, "qty": 1.5}), _INVALID),
    ("cart.add/qty-string", _op({"t": "cart.add", "product": _PRODUCT, "qty": "2"}), _INVALID),
    ("product/empty-id", _add(id=""), _INVALID),
    ("product/id-too-long", _add(id="x" * 129), _INVALID),
    ("product/empty-name", _add(name=""), _INVALID),
    ("product/negative-price", _add(price=-1), _INVALID),
    ("product/price-over-10^12", _add(price=10**12 + 1), _INVALID),
    ("product/price-float", _add(price=9.99), _INVALID),
    ("product/currency-lowercase", _add(currency="eur"), _INVALID),
    ("product/currency-trailing-newline", _add(currency="EUR\n"), _INVALID),
    ("product/currency-too-long", _add(currency="EURO"), _INVALID),
    ("product/url-too-long", _add(url="https://x/" + "a" * 2040), _INVALID),
    ("product/unknown-field", _add(stock=3), _INVALID),
    ("cart.qty/line-zero", _op({"t": "cart.qty", "line": 0, "qty": 1}), _INVALID),
    ("cart.qty/missing-qty", _op({"t": "cart.qty", "line": 1}), _INVALID),
    ("cart.remove/line-over-2^53", _op({"t": "cart.remove", "line": 2**53 + 1}), _INVALID),
    ("vote/bad-value", _op({"t": "vote", "line": 1, "value": "meh"}), _INVALID),
    ("chat/empty-text", _op({"t": "chat", "text": ""}), _INVALID),
    ("chat/text-over-16000", _op({"t": "chat", "text": "x" * 16_001}), _INVALID),
    ("chat/reply-to-zero", _op({"t": "chat", "text": "x", "reply_to": 0}), _INVALID),
    ("react/empty-emoji", _op({"t": "react", "msg": 1, "emoji": ""}), _INVALID),
    ("react/emoji-too-long", _op({"t": "react", "msg": 1, "emoji": "x" * 17}), _INVALID),
    ("react/on-not-bool", _op({"t": "react", "msg": 1, "emoji": "x", "on": 1}), _INVALID),
    ("room.rename/empty-name", _op({"t": "room.rename", "name": ""}), _INVALID),
    ("room.rename/name-too-long", _op({"t": "room.rename", "name": "x" * 101}), _INVALID),
    ("room.lock/missing-locked", _op({"t": "room.lock"}), _INVALID),
    ("room.lock/locked-string", _op({"t": "room.lock", "locked": "yes"}), _INVALID),
    ("member.kick/empty-member", _op({"t": "member.kick", "member": ""}), _INVALID),
    ("op/body-room.close-is-server-only", _op({"t": "room.close"}), _INVALID),
    ("op/body-member.erase-is-server-only", _op({"t": "member.erase", "member": "m"}), _INVALID),
    ("focus/bad-product", {"t": "focus", "product": {"id": "x"}}, _INVALID),
    ("typing/missing-on", {"t": "typing"}, _INVALID),
    ("typing/on-null", {"t": "typing", "on": None}, _INVALID),
    ("follow/empty-member", {"t": "follow", "member": ""}, _INVALID),
    ("ping/negative-nonce", {"t": "ping", "nonce": -1}, _INVALID),
    ("ping/float-nonce", {"t": "ping", "nonce": 1.0}, _INVALID),
    ("ping/exponent-nonce", Raw(b'{"t":"ping","nonce":1e3}'), _INVALID),
    ("hello/null-client", {"t": "hello", "token": "x", "client": None}, _INVALID),
    # U+0000 in any string (SPEC section 1): JSON can only write it as the \\u0000 escape
    ("hello/nul-in-token", {"t": "hello", "token": "v1.a\x00.b"}, _INVALID),
    ("hello/nul-in-client", {"t": "hello", "token": "x", "client": "\x00"}, _INVALID),
    ("hello/nul-in-version", {"t": "hello", "token": "x", "version": "1\x00"}, _INVALID),
    ("hello/nul-in-resume-epoch", {"t": "hello", "token": "x", "resume": {"epoch": "e\x00", "seq": 0}}, _INVALID),
    ("op/nul-in-ref", _op({"t": "cart.remove", "line": 1}, ref="a\x00b"), _INVALID),
    ("product/nul-in-id", _add(id="sku\x00"), _INVALID),
    ("product/nul-in-name", _add(name="\x00Shirt"), _INVALID),
    ("product/nul-in-image", _add(image="https://x/\x00.jpg"), _INVALID),
    ("product/nul-in-url", _add(url="https://x/\x00"), _INVALID),
    ("product/nul-in-variant", _add(variant="\x00"), _INVALID),
    ("chat/nul-in-text", _op({"t": "chat", "text": "hi\x00there"}), _INVALID),
    ("chat/nul-in-product-name", _op({"t": "chat", "text": "x", "product": {**_PRODUCT, "name": "a\x00"}}), _INVALID),
    ("react/nul-in-emoji", _op({"t": "react", "msg": 1, "emoji": "\x00"}), _INVALID),
    ("room.rename/nul-in-name", _op({"t": "room.rename", "name": "Trip\x00"}), _INVALID),
    ("member.kick/nul-in-member", _op({"t": "member.kick", "member": "m\x00"}), _INVALID),
    ("focus/nul-in-product-id", {"t": "focus", "product": {**_PRODUCT, "id": "\x00"}}, _INVALID),
    ("follow/nul-in-member", {"t": "follow", "member": "m_\x00"}, _INVALID),
]

# (name, value to encode as msgpack or Raw bytes, expected code)
_MSGPACK_INVALID: list[tuple[str, Any, ErrorCode]] = [
    ("empty", Raw(b""), _BAD),
    ("truncated", Raw(msgspec.msgpack.encode({"t": "ping", "nonce": 1})[:-1]), _BAD),
    ("trailing-bytes", Raw(msgspec.msgpack.encode({"t": "ping"}) + b"\x00"), _BAD),
    ("reserved-byte-0xc1", Raw(b"\xc1"), _BAD),
    ("map-truncated-header", Raw(b"\x82\xa1t"), _BAD),
    ("top-level-nil", None, _BAD),
    ("top-level-int", 7, _BAD),
    ("top-level-array", [{"t": "ping"}], _BAD),
    ("top-level-bin", b"\x00\x01", _BAD),
    ("top-level-ext", msgspec.msgpack.Ext(1, b"x"), _BAD),
    ("map-with-int-keys", {1: 2}, _BAD),
    ("missing-t", {"token": "x"}, _UNKNOWN),
    ("t-unknown", {"t": "nope"}, _UNKNOWN),
    ("t-is-a-server-type", {"t": "pong"}, _UNKNOWN),
    ("t-as-bin", {"t": b"ping"}, _UNKNOWN),
    ("hello/token-as-bin", {"t": "hello", "token": b"x"}, _INVALID),
    ("ping/nonce-float", {"t": "ping", "nonce": 1.0}, _INVALID),
    ("ping/nonce-uint64-max", {"t": "ping", "nonce": 2**64 - 1}, _INVALID),
    ("typing/on-int", {"t": "typing", "on": 1}, _INVALID),
    ("cart.add/qty-over-999", _op({"t": "cart.add", "product": _PRODUCT, "qty": 1000}), _INVALID),
    (
        "op/body-room.create-is-server-only",
        _op({"t": "room.create", "name": "x", "owner": "o", "owner_name": "O"}),
        _INVALID,
    ),
    ("checkout.request/scope-unknown", _op({"t": "checkout.request", "scope": "everything"}), _INVALID),
    ("checkout.request/scope-missing", _op({"t": "checkout.request"}), _INVALID),
    ("checkout.request/extra-field", _op({"t": "checkout.request", "scope": "all", "lines": [1]}), _INVALID),
    ("op/body-checkout.start-is-server-only", _op({"t": "checkout.start", "id": "co", "sig": "x"}), _INVALID),
    ("op/body-cart.revalidate-is-server-only", _op({"t": "cart.revalidate", "line": 1, "price": 1}), _INVALID),
    # U+0000 in any string (SPEC section 1): a 0x00 byte inside a msgpack str
    ("hello/nul-in-token", {"t": "hello", "token": "v1.a\x00.b"}, _INVALID),
    ("op/nul-in-ref", _op({"t": "cart.remove", "line": 1}, ref="a\x00b"), _INVALID),
    ("product/nul-in-name", _add(name="\x00Shirt", price=2560), _INVALID),
    ("chat/nul-in-text", _op({"t": "chat", "text": "hi\x00there"}), _INVALID),
    ("react/nul-in-emoji", _op({"t": "react", "msg": 1, "emoji": "\x00"}), _INVALID),
    ("focus/nul-in-product-url", {"t": "focus", "product": {**_PRODUCT, "url": "\x00"}}, _INVALID),
    ("follow/nul-in-member", {"t": "follow", "member": "m_\x00"}, _INVALID),
]


def invalid_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    for name, value, code in _JSON_INVALID + call_cases.JSON_INVALID + help_cases.JSON_INVALID:
        text = value.decode("utf-8") if isinstance(value, Raw) else json.dumps(value, ensure_ascii=False)
        cases.append(
            {"name": f"json/{name}", "format": "json", "frame": text, "code": _checked(JSON, text, code, name)}
        )
    for name, value, code in _MSGPACK_INVALID + call_cases.MSGPACK_INVALID + help_cases.MSGPACK_INVALID:
        frame = bytes(value) if isinstance(value, Raw) else msgspec.msgpack.encode(value)
        cases.append(
            {
                "name": f"msgpack/{name}",
                "format": "msgpack",
                "frame": frame.hex(),
                "code": _checked(MSGPACK, frame, code, name),
            }
        )
    return cases


def _checked(codec: Any, frame: bytes | str, code: ErrorCode, name: str) -> str:
    try:
        codec.decode_client(frame)
    except ProtocolError as exc:
        assert exc.code == code, (name, exc.code, exc.message)
        return code.value
    raise AssertionError(f"invalid case {name!r} decodes")


# ---- output ------------------------------------------------------------------------------


def dumps(value: Any, indent: int = 0, width: int = 110) -> str:
    """JSON with containers on one line when they fit, and every message (a map with `t`)
    on one line: readable diffs, one event per line."""
    compact = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    if not isinstance(value, (dict, list)) or not value or indent + len(compact) <= width or "t" in value:
        return compact
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {dumps(v, indent + 2, width)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + dumps(v, indent + 2, width) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def build() -> dict[str, str]:
    """File name -> file text."""
    return {
        "codec.json": dumps(codec_cases()) + "\n",
        "reducer.json": dumps(reducer_cases()) + "\n",
        "invalid.json": dumps(invalid_cases()) + "\n",
        "session.json": dumps(session_cases()) + "\n",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m protocol.vectors.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if a file differs")
    args = parser.parse_args(argv)
    stale = []
    for name, text in build().items():
        path = VECTORS_DIR / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    verb = "differ" if args.check else "written"
    print(f"{verb}: {', '.join(stale)}" if stale else "vectors up to date")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
