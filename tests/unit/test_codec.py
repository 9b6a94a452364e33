"""The two codecs: subprotocol selection, round trips, defaults, and error classification."""

from __future__ import annotations

import json

import msgspec
import pytest

from protocol import JSON, JSON_SUBPROTOCOL, MSGPACK, MSGPACK_SUBPROTOCOL, SUBPROTOCOLS, Codec, codec_for
from protocol.errors import ErrorCode, ProtocolError
from protocol.messages import (
    CLIENT_MESSAGE_TYPES,
    SERVER_MESSAGE_TYPES,
    Ack,
    CartAdd,
    Chat,
    Error,
    Event,
    Focus,
    FocusSignal,
    Hello,
    Limits,
    Op,
    Ping,
    Pong,
    Product,
    Resume,
    RoomState,
    Typing,
    Welcome,
    to_builtins,
)

SHIRT = Product(id="sku-1", name="Shirt", price=4900, currency="EUR")
CODECS = [pytest.param(MSGPACK, id="msgpack"), pytest.param(JSON, id="json")]


def reject(codec: Codec, frame: bytes | str, *, server: bool = False) -> ErrorCode:
    decode = codec.decode_server if server else codec.decode_client
    with pytest.raises(ProtocolError) as info:
        decode(frame)
    assert info.value.message
    return info.value.code


def test_subprotocols() -> None:
    assert SUBPROTOCOLS == ("cosession.v1.msgpack", "cosession.v1.json")
    assert MSGPACK.subprotocol == MSGPACK_SUBPROTOCOL and MSGPACK.binary and MSGPACK.format == "msgpack"
    assert JSON.subprotocol == JSON_SUBPROTOCOL and not JSON.binary and JSON.format == "json"


@pytest.mark.parametrize(
    ("offered", "expected"),
    [(None, MSGPACK), ("", MSGPACK), (MSGPACK_SUBPROTOCOL, MSGPACK), (JSON_SUBPROTOCOL, JSON), ("v2", MSGPACK)],
)
def test_codec_for_defaults_to_msgpack(offered: str | None, expected: Codec) -> None:
    assert codec_for(offered) is expected


def test_message_type_sets_match_the_unions() -> None:
    assert {
        "hello",
        "op",
        "focus",
        "typing",
        "follow",
        "ping",
        "call.join",
        "call.leave",
        "call.state",
        "signal",
        "read",
        "away",
    } == CLIENT_MESSAGE_TYPES
    assert {
        "welcome",
        "event",
        "ack",
        "error",
        "presence",
        "focus",
        "typing",
        "follow",
        "pong",
        "signal",
        "call",
        "read",
    } == SERVER_MESSAGE_TYPES


@pytest.mark.parametrize("codec", CODECS)
def test_client_round_trip(codec: Codec) -> None:
    msgs = [
        Hello(token="tok", resume=Resume(epoch="e1", seq=3), client="py", version="1", device="bot"),
        Op(ref="r1", op=CartAdd(product=SHIRT, qty=2)),
        Op(ref="r2", op=Chat(text="hi", product=SHIRT, reply_to=5)),
        Focus(product=SHIRT),
        Focus(),
        Typing(on=True),
        Ping(nonce=9),
    ]
    for msg in msgs:
        assert codec.decode_client(codec.encode(msg)) == msg


@pytest.mark.parametrize("codec", CODECS)
def test_server_round_trip(codec: Codec) -> None:
    state = RoomState(seq=3, name="r", owner="a")
    limits = Limits(65536, 20.0, 40, 50, 2000, 200)
    msgs = [
        Welcome(room="r", member="m", role="owner", epoch="e", seq=3, recovered=False, snapshot=state, limits=limits),
        Event(seq=4, ts=1, by="m", op=CartAdd(product=SHIRT)),
        Ack(ref="r1", seq=4),
        Error(code=ErrorCode.NOT_FOUND, message="gone", ref="r1"),
        FocusSignal(member="m"),
        Pong(nonce=2),
    ]
    for msg in msgs:
        assert codec.decode_server(codec.encode(msg)) == msg


def test_json_frames_are_text_and_compact() -> None:
    frame = JSON.encode(Op(ref="r1", op=CartAdd(product=SHIRT)))
    assert frame.decode("utf-8") == (
        '{"t":"op","ref":"r1","op":{"t":"cart.add","product":'
        '{"id":"sku-1","name":"Shirt","price":4900,"currency":"EUR"}}}'
    )


def test_json_decoder_accepts_str_and_bytes() -> None:
    text = '{"t":"ping","nonce":5}'
    assert JSON.decode_client(text) == JSON.decode_client(text.encode()) == Ping(nonce=5)


def test_defaults_are_omitted_on_the_wire() -> None:
    assert to_builtins(Hello(token="x")) == {"t": "hello", "token": "x"}
    assert to_builtins(Ping()) == {"t": "ping"}
    assert to_builtins(Pong()) == {"t": "pong"}
    assert to_builtins(Error(code="internal", message="m")) == {"t": "error", "code": "internal", "message": "m"}
    assert to_builtins(CartAdd(product=SHIRT)) == {"t": "cart.add", "product": to_builtins(SHIRT)}
    assert to_builtins(RoomState()) == {}


def test_decoding_fills_defaults() -> None:
    hello = JSON.decode_client('{"t":"hello","token":"x"}')
    assert hello == Hello(token="x", resume=None, client="unknown", version="", device="unknown")
    op = JSON.decode_client('{"t":"op","ref":"r","op":{"t":"react","msg":3,"emoji":"x"}}')
    assert isinstance(op, Op) and op.op == msgspec.convert(
        {"t": "react", "msg": 3, "emoji": "x", "on": True}, type(op.op)
    )


def test_encoding_is_deterministic_and_shared() -> None:
    event = Event(seq=1, ts=2, by="m", op=CartAdd(product=SHIRT))
    assert MSGPACK.encode(event) == MSGPACK.encode(event) == msgspec.msgpack.encode(event)
    assert JSON.encode(event) == msgspec.json.encode(event)


def test_null_is_accepted_only_where_the_default_is_none() -> None:
    assert JSON.decode_client('{"t":"focus","product":null}') == Focus()
    assert JSON.decode_client('{"t":"hello","token":"x","resume":null}') == Hello(token="x")
    assert reject(JSON, '{"t":"hello","token":"x","client":null}') is ErrorCode.INVALID_FIELD
    assert reject(JSON, '{"t":"ping","nonce":null}') is ErrorCode.INVALID_FIELD


@pytest.mark.parametrize("codec", CODECS)
def test_bad_message(codec: Codec) -> None:
    for value in [None, 1, "hello", [1, 2], True]:
        assert reject(codec, codec.encode(value)) is ErrorCode.BAD_MESSAGE
    assert reject(codec, b"") is ErrorCode.BAD_MESSAGE
    assert reject(codec, codec.encode({"t": "ping"})[:-1]) is ErrorCode.BAD_MESSAGE


def test_msgpack_given_text_is_bad_message() -> None:
    assert reject(MSGPACK, '{"t":"ping"}') is ErrorCode.BAD_MESSAGE


def test_json_given_invalid_utf8_is_bad_message() -> None:
    assert reject(JSON, b'{"t":"hello","token":"\xff"}') is ErrorCode.BAD_MESSAGE


@pytest.mark.parametrize("codec", CODECS)
def test_unknown_type(codec: Codec) -> None:
    for value in [{}, {"t": None}, {"t": 1}, {"t": "nope"}, {"t": "welcome"}, {"t": "ack", "ref": "r", "seq": 1}]:
        assert reject(codec, codec.encode(value)) is ErrorCode.UNKNOWN_TYPE, value


@pytest.mark.parametrize("codec", CODECS)
def test_invalid_field(codec: Codec) -> None:
    for value in [
        {"t": "hello"},
        {"t": "hello", "token": "x", "extra": 1},
        {"t": "ping", "nonce": -1},
        {"t": "op", "ref": "r", "op": {"t": "cart.add", "product": to_builtins(SHIRT), "qty": 1000}},
        {"t": "op", "ref": "r", "op": {"t": "member.join", "member": "m", "name": "M", "role": "owner"}},
        {"t": "typing", "on": "yes"},
    ]:
        assert reject(codec, codec.encode(value)) is ErrorCode.INVALID_FIELD, value


@pytest.mark.parametrize("codec", CODECS)
def test_server_decoder_classifies_against_server_types(codec: Codec) -> None:
    # a known server type with bad fields is invalid_field, a client-only type is unknown
    assert reject(codec, codec.encode({"t": "welcome"}), server=True) is ErrorCode.INVALID_FIELD
    assert reject(codec, codec.encode({"t": "ack", "ref": "r"}), server=True) is ErrorCode.INVALID_FIELD
    assert reject(codec, codec.encode({"t": "hello", "token": "x"}), server=True) is ErrorCode.UNKNOWN_TYPE
    assert reject(codec, codec.encode({"t": "ping"}), server=True) is ErrorCode.UNKNOWN_TYPE
    assert reject(codec, codec.encode([1]), server=True) is ErrorCode.BAD_MESSAGE


def test_deep_nesting_is_bad_message_not_recursion_error() -> None:
    deep_json = '{"t":"op","ref":"r1","op":' + "[" * 5000 + "]" * 5000 + "}"
    deep_pack = MSGPACK.encode({"t": "op", "ref": "r1", "op": None})[:-1] + b"\x91" * 5000 + b"\xc0"
    for codec, frame in ((JSON, deep_json), (MSGPACK, deep_pack)):
        assert reject(codec, frame) is ErrorCode.BAD_MESSAGE
        assert reject(codec, frame, server=True) is ErrorCode.BAD_MESSAGE
        with pytest.raises(ProtocolError):
            codec.decode_any(frame)
    assert reject(JSON, "[" * 5000) is ErrorCode.BAD_MESSAGE


def test_currency_pattern_is_anchored() -> None:
    for currency in ["EUR\n", "eur", "EU", "EURO", "E1R"]:
        frame = JSON.encode({"t": "focus", "product": {**to_builtins(SHIRT), "currency": currency}})  # type: ignore[dict-item]
        assert reject(JSON, frame) is ErrorCode.INVALID_FIELD, currency


@pytest.mark.parametrize("codec", CODECS)
def test_decode_any(codec: Codec) -> None:
    assert codec.decode_any(codec.encode({"t": "x", "n": [1, 2]})) == {"t": "x", "n": [1, 2]}
    with pytest.raises(ProtocolError) as info:
        codec.decode_any(b"\xc1" if codec.binary else b"{")
    assert info.value.code is ErrorCode.BAD_MESSAGE


def test_protocol_error_carries_code_and_message() -> None:
    with pytest.raises(ProtocolError) as info:
        JSON.decode_client('{"t":"ping","nonce":"x"}')
    err = info.value
    assert err.code is ErrorCode.INVALID_FIELD
    assert "nonce" in err.message and str(err) == err.message


def test_json_and_msgpack_carry_the_same_value() -> None:
    msg = Welcome(room="r", member="m", role="viewer", epoch="e", seq=0, recovered=True, server="n1")
    assert json.loads(JSON.encode(msg)) == msgspec.msgpack.decode(MSGPACK.encode(msg)) == to_builtins(msg)
