"""Codec properties: every message round-trips through both codecs, and no input makes a
decoder raise anything but ``ProtocolError`` with a decode error code."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import JSON, MSGPACK, Codec
from protocol.errors import ErrorCode, ProtocolError
from protocol.messages import (
    CLIENT_MESSAGE_TYPES,
    SERVER_MESSAGE_TYPES,
    Ack,
    CartAdd,
    CartLine,
    CartQty,
    CartRemove,
    Chat,
    ChatMessage,
    ClientMessage,
    Error,
    Event,
    Focus,
    FocusSignal,
    Follow,
    FollowSignal,
    Hello,
    IceServer,
    Limits,
    MemberInfo,
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
    RoomCreate,
    RoomLock,
    RoomRename,
    RoomState,
    ServerMessage,
    Typing,
    TypingSignal,
    Vote,
    Welcome,
)

CODECS = (MSGPACK, JSON)
DECODE_CODES = {ErrorCode.BAD_MESSAGE, ErrorCode.UNKNOWN_TYPE, ErrorCode.INVALID_FIELD}
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---- strategies for well-formed messages ------------------------------------------------------


def text(min_size: int = 0, max_size: int = 24) -> st.SearchStrategy[str]:
    # no U+0000: a well-formed client message never holds it (SPEC section 1)
    return st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=min_size, max_size=max_size
    )


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


ids = text(1, 64) | st.sampled_from(["ana", "bo", "x" * 64])
seqs = st.integers(0, 2**53)
positive = st.integers(1, 2**53)
qtys = st.integers(1, 999)
roles = st.sampled_from(["owner", "member", "associate", "viewer"])
devices = st.sampled_from(["phone", "tablet", "desktop", "bot", "unknown"])

products = st.builds(
    Product,
    id=text(1, 128),
    name=text(1, 200),
    price=st.integers(0, 10**12),
    currency=st.from_regex(r"[A-Z]{3}", fullmatch=True),
    image=maybe(text(0, 2048)),
    url=maybe(text(0, 2048)),
    variant=maybe(text(0, 128)),
)

client_bodies = st.one_of(
    st.builds(CartAdd, product=products, qty=qtys),
    st.builds(CartQty, line=positive, qty=qtys),
    st.builds(CartRemove, line=positive),
    st.builds(Vote, line=positive, value=st.sampled_from(["up", "down", "clear"])),
    st.builds(Chat, text=text(1, 300), product=maybe(products), reply_to=maybe(positive)),
    st.builds(React, msg=positive, emoji=text(1, 16), on=st.booleans()),
    st.builds(RoomRename, name=text(1, 100)),
    st.builds(RoomLock, locked=st.booleans()),
    st.builds(MemberKick, member=ids),
)
event_bodies = client_bodies | st.one_of(
    st.builds(RoomCreate, name=text(1, 100), owner=ids, owner_name=text(0, 200)),
    st.builds(MemberJoin, member=ids, name=text(0, 200), role=roles),
)

client_messages: st.SearchStrategy[Any] = st.one_of(
    st.builds(
        Hello,
        token=text(1, 2048),
        resume=maybe(st.builds(Resume, epoch=text(1, 64), seq=seqs)),
        client=text(0, 64),
        version=text(0, 32),
        device=devices,
    ),
    st.builds(Op, ref=ids, op=client_bodies),
    st.builds(Focus, product=maybe(products)),
    st.builds(Typing, on=st.booleans()),
    st.builds(Follow, member=maybe(ids)),
    st.builds(Ping, nonce=seqs),
)

events = st.builds(Event, seq=seqs, ts=seqs, by=text(), op=event_bodies)
votes = st.dictionaries(text(), st.sampled_from([1, -1]), max_size=3)
states = st.builds(
    RoomState,
    seq=seqs,
    name=text(),
    owner=text(),
    locked=st.booleans(),
    members=st.dictionaries(text(), st.builds(MemberInfo, name=text(), role=roles, kicked=st.booleans()), max_size=4),
    cart=st.lists(
        st.builds(CartLine, line=positive, product=products, qty=qtys, added_by=text(), votes=votes), max_size=3
    ),
    chat=st.lists(
        st.builds(
            ChatMessage,
            id=positive,
            by=text(),
            ts=seqs,
            text=text(),
            product=maybe(products),
            reply_to=maybe(positive),
            reactions=st.dictionaries(text(1, 4), st.lists(text(), min_size=1, max_size=3), max_size=3),
        ),
        max_size=3,
    ),
)
presence_members = st.builds(
    PresenceMember,
    member=text(),
    name=text(),
    role=roles,
    device=devices,
    connections=st.integers(0, 100),
    focus=maybe(products),
    following=maybe(text()),
)
finite = st.floats(allow_nan=False, allow_infinity=False)
limits = st.builds(
    Limits,
    max_frame_bytes=st.integers(0, 2**31),
    ops_per_second=finite,
    ops_burst=st.integers(0, 10_000),
    max_members=st.integers(0, 10_000),
    max_chat_chars=st.integers(0, 100_000),
    max_cart_lines=st.integers(0, 10_000),
)
ice_servers = st.builds(IceServer, urls=st.lists(text(), max_size=3), username=maybe(text()), credential=maybe(text()))

server_messages: st.SearchStrategy[Any] = st.one_of(
    st.builds(
        Welcome,
        room=text(),
        member=text(),
        role=roles,
        epoch=text(),
        seq=seqs,
        recovered=st.booleans(),
        events=st.lists(events, max_size=3),
        snapshot=maybe(states),
        presence=st.lists(presence_members, max_size=3),
        limits=maybe(limits),
        ice=st.lists(ice_servers, max_size=2),
        server=text(),
    ),
    events,
    st.builds(Ack, ref=text(), seq=seqs),
    st.builds(Error, code=st.sampled_from([c.value for c in ErrorCode]) | text(), message=text(), ref=maybe(text())),
    st.builds(PresenceUpdate, kind=st.sampled_from(["join", "update", "leave"]), member=presence_members),
    st.builds(FocusSignal, member=text(), product=maybe(products)),
    st.builds(TypingSignal, member=text(), on=st.booleans()),
    st.builds(FollowSignal, member=text(), target=maybe(text())),
    st.builds(Pong, nonce=seqs),
)


# ---- round trips ---------------------------------------------------------------------------


@SETTINGS
@given(client_messages)
def test_client_messages_round_trip(msg: ClientMessage) -> None:
    for codec in CODECS:
        frame = codec.encode(msg)
        assert codec.decode_client(frame) == msg
    if isinstance(msg, Op):
        assert type(MSGPACK.decode_client(MSGPACK.encode(msg))) is Op
    # both codecs carry the same plain value
    assert json.loads(JSON.encode(msg)) == msgspec.msgpack.decode(MSGPACK.encode(msg))


@SETTINGS
@given(server_messages)
def test_server_messages_round_trip(msg: ServerMessage) -> None:
    for codec in CODECS:
        assert codec.decode_server(codec.encode(msg)) == msg


@SETTINGS
@given(client_messages, st.sampled_from(CODECS))
def test_client_messages_are_not_server_messages_unless_shared(msg: ClientMessage, codec: Codec) -> None:
    """`focus`, `typing` and `follow` exist in both directions with different fields."""
    try:
        codec.decode_server(codec.encode(msg))
    except ProtocolError as exc:
        assert exc.code in (ErrorCode.UNKNOWN_TYPE, ErrorCode.INVALID_FIELD)
        tag = msgspec.to_builtins(msg)["t"]
        assert (exc.code is ErrorCode.UNKNOWN_TYPE) == (tag not in SERVER_MESSAGE_TYPES)


# ---- decoders never raise anything else ---------------------------------------------------------


def assert_decoders_total(codec: Codec, frame: bytes | str) -> None:
    for decode, union in ((codec.decode_client, ClientMessage), (codec.decode_server, ServerMessage)):
        try:
            msg = decode(frame)
        except ProtocolError as exc:
            assert exc.code in DECODE_CODES
            assert isinstance(exc.message, str) and exc.message
        else:
            assert isinstance(msg, union.__args__)
            frame_again = codec.encode(msg)  # compared as bytes: a float field may hold NaN
            assert codec.encode(decode(frame_again)) == frame_again
    try:
        codec.decode_any(frame)
    except ProtocolError as exc:
        assert exc.code is ErrorCode.BAD_MESSAGE


wire_ints = st.integers(-(2**63), 2**64 - 1)  # what MessagePack can carry
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
msgpack_values = st.recursive(
    st.none()
    | st.booleans()
    | wire_ints
    | st.floats()
    | st.text()
    | st.binary(max_size=16)
    | st.builds(msgspec.msgpack.Ext, st.integers(-128, 127), st.binary(max_size=8)),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8) | wire_ints | st.binary(max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)

# maps that look like messages: a known (or random) `t`, real field names, plausible values
ALL_TYPES = sorted(CLIENT_MESSAGE_TYPES | SERVER_MESSAGE_TYPES)
STRUCTS: tuple[type[msgspec.Struct], ...] = (
    Hello,
    Resume,
    Op,
    Focus,
    Typing,
    Follow,
    Ping,
    Product,
    CartAdd,
    CartQty,
    CartRemove,
    Vote,
    Chat,
    React,
)
STRUCTS += (RoomRename, RoomLock, MemberKick, Welcome, Event, Ack, Error, PresenceUpdate, FocusSignal, FollowSignal)
FIELD_NAMES = sorted({name for cls in STRUCTS for name in cls.__struct_fields__})
OP_TAGS = ["cart.add", "cart.qty", "cart.remove", "vote", "chat", "react", "room.rename", "room.lock", "member.kick"]
plausible = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-2, 1001)
    | st.sampled_from([2**53, 2**53 + 1, 10**12 + 1, 1.5, "", "EUR", "up", "owner", "phone", "x" * 65])
    | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=2)
        | st.dictionaries(st.sampled_from(["t", *FIELD_NAMES]), inner, max_size=3)
        | st.builds(
            lambda t, rest: {"t": t, **rest},
            st.sampled_from(OP_TAGS),
            st.dictionaries(st.sampled_from(FIELD_NAMES), inner, max_size=3),
        )
    ),
    max_leaves=8,
)
near_valid = st.builds(
    lambda t, rest: {"t": t, **rest},
    st.sampled_from(ALL_TYPES) | st.text(max_size=6),
    st.dictionaries(st.sampled_from(FIELD_NAMES), plausible, max_size=5),
)


@SETTINGS
@given(st.binary(max_size=256))
def test_random_bytes(frame: bytes) -> None:
    for codec in CODECS:
        assert_decoders_total(codec, frame)


@SETTINGS
@given(st.text(max_size=256))
def test_random_text(frame: str) -> None:
    assert_decoders_total(JSON, frame)
    assert_decoders_total(MSGPACK, frame)  # text given to the binary codec


@SETTINGS
@given(json_values)
def test_random_json_values(value: Any) -> None:
    assert_decoders_total(JSON, json.dumps(value))


@SETTINGS
@given(msgpack_values)
def test_random_msgpack_values(value: Any) -> None:
    assert_decoders_total(MSGPACK, msgspec.msgpack.encode(value))


@SETTINGS
@given(near_valid)
def test_near_valid_maps(value: dict[str, Any]) -> None:
    assert_decoders_total(JSON, json.dumps(value))
    assert_decoders_total(MSGPACK, msgspec.msgpack.encode(value))


@SETTINGS
@given(client_messages, st.data())
def test_corrupted_valid_frames(msg: ClientMessage, data: st.DataObject) -> None:
    for codec in CODECS:
        frame = bytearray(codec.encode(msg))
        for _ in range(data.draw(st.integers(1, 3))):
            i = data.draw(st.integers(0, len(frame) - 1))
            frame[i] = data.draw(st.integers(0, 255))
        cut = data.draw(st.integers(0, len(frame)))
        assert_decoders_total(codec, bytes(frame[:cut]))
        assert_decoders_total(codec, bytes(frame))
