"""Every entry of the golden vector files in protocol/vectors/."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from protocol import JSON, MSGPACK
from protocol.errors import ErrorCode, ProtocolError
from protocol.messages import (
    CLIENT_MESSAGE_TYPES,
    CLIENT_OP_TYPES,
    REQUEST_OP_TYPES,
    SERVER_MESSAGE_TYPES,
    SYSTEM_OP_TYPES,
    Event,
    RoomState,
    to_builtins,
)
from protocol.reducer import CHAT_KEEP, check_rules, copy_state, fold
from protocol.vectors import VECTOR_FILES, VECTORS_DIR
from protocol.vectors.generate import build


def load(name: str) -> list[dict[str, Any]]:
    cases = json.loads((VECTORS_DIR / name).read_text(encoding="utf-8"))
    assert isinstance(cases, list) and cases
    names = [case["name"] for case in cases]
    assert len(names) == len(set(names)), f"duplicate case names in {name}"
    return cases


CODEC = load("codec.json")
REDUCER = load("reducer.json")
INVALID = load("invalid.json")


def by_name(cases: list[dict[str, Any]]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("case", cases, ids=[c["name"] for c in cases])


# ---- codec.json ----------------------------------------------------------------------------


@by_name(CODEC)
def test_codec_vector(case: dict[str, Any]) -> None:
    text: str = case["json"]
    binary = bytes.fromhex(case["msgpack_hex"])
    client = case["direction"] == "client"
    assert case["direction"] in ("client", "server")

    from_json = JSON.decode_client(text) if client else JSON.decode_server(text)
    from_pack = MSGPACK.decode_client(binary) if client else MSGPACK.decode_server(binary)
    assert from_json == from_pack
    assert JSON.encode(from_json) == text.encode("utf-8")
    assert MSGPACK.encode(from_json) == binary
    # both frames carry the same plain value, which is also the message's builtins form
    assert json.loads(text) == msgspec.msgpack.decode(binary) == to_builtins(from_json)


def test_codec_vectors_cover_every_message_and_op_body() -> None:
    seen: dict[str, set[str]] = {"client": set(), "server": set()}
    client_ops: set[str] = set()
    event_ops: set[str] = set()
    for case in CODEC:
        value = json.loads(case["json"])
        seen[case["direction"]].add(value["t"])
        if value["t"] == "op":
            client_ops.add(value["op"]["t"])
        if value["t"] == "event":
            event_ops.add(value["op"]["t"])
    assert seen["client"] == set(CLIENT_MESSAGE_TYPES)
    assert seen["server"] == set(SERVER_MESSAGE_TYPES)
    client_tags = {cls.__struct_config__.tag for cls in CLIENT_OP_TYPES}
    system_tags = {cls.__struct_config__.tag for cls in SYSTEM_OP_TYPES}
    assert client_ops == client_tags
    request_tags = {cls.__struct_config__.tag for cls in REQUEST_OP_TYPES}
    assert event_ops == (client_tags - request_tags) | system_tags


def test_codec_vectors_cover_optional_fields_set_and_omitted() -> None:
    names = {case["name"] for case in CODEC}
    for pair in [
        ("client/hello/minimal", "client/hello/full"),
        ("client/op/cart.add/minimal", "client/op/cart.add/full"),
        ("client/op/chat/minimal", "client/op/chat/full"),
        ("client/op/react/on-default", "client/op/react/off"),
        ("client/focus/product", "client/focus/clear"),
        ("client/ping/default", "client/ping/nonce"),
        ("server/welcome/minimal", "server/welcome/snapshot"),
        ("server/error/with-ref", "server/error/without-ref"),
        ("server/presence/join-minimal", "server/presence/join-full"),
        ("server/follow/target", "server/follow/stop"),
        ("server/pong/default", "server/pong/nonce"),
        ("server/focus/product", "server/focus/clear"),
        ("client/follow/member", "client/follow/stop"),
        ("server/welcome/recovered", "server/welcome/recovered-nothing-missed"),
    ]:
        assert set(pair) <= names, pair


# ---- reducer.json --------------------------------------------------------------------------


@by_name(REDUCER)
def test_reducer_vector(case: dict[str, Any]) -> None:
    events = [msgspec.convert(e, Event) for e in case["events"]]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    state = fold(events)
    assert to_builtins(state) == case["state"]
    assert msgspec.convert(case["state"], RoomState) == state
    assert state.seq == events[-1].seq
    # the snapshot form folds on identically (snapshot + tail == whole log)
    half = len(events) // 2
    assert fold(events[half:], copy_state(fold(events[:half]))) == state


def test_reducer_vectors_include_noops_of_each_refusal_code() -> None:
    codes: set[ErrorCode] = set()
    for case in REDUCER:
        state = RoomState()
        for raw in case["events"]:
            event = msgspec.convert(raw, Event)
            rejection = check_rules(state, event.by, event.op)
            if rejection is not None:
                codes.add(rejection.code)
            fold([event], state)
    assert codes == {
        ErrorCode.FORBIDDEN,
        ErrorCode.KICKED,
        ErrorCode.ROOM_LOCKED,
        ErrorCode.NOT_FOUND,
        ErrorCode.ROOM_CLOSED,
        ErrorCode.EMPTY_CHECKOUT,
        ErrorCode.HELP_PENDING,
        ErrorCode.ALREADY_CLAIMED,
    }


def test_reducer_vectors_include_chat_eviction() -> None:
    [case] = [c for c in REDUCER if c["name"] == "chat_keep_evicts_oldest"]
    chats = sum(1 for e in case["events"] if e["op"]["t"] == "chat")
    assert chats > CHAT_KEEP and len(case["state"]["chat"]) == CHAT_KEEP


# ---- invalid.json --------------------------------------------------------------------------


@by_name(INVALID)
def test_invalid_vector(case: dict[str, Any]) -> None:
    code = ErrorCode(case["code"])
    if case["format"] == "json":
        frames: list[bytes | str] = [case["frame"], case["frame"].encode("utf-8")]
        codec = JSON
    else:
        assert case["format"] == "msgpack"
        frames = [bytes.fromhex(case["frame"])]
        codec = MSGPACK
    for frame in frames:
        with pytest.raises(ProtocolError) as info:
            codec.decode_client(frame)
        assert info.value.code is code


def test_invalid_vectors_cover_every_decode_error_code() -> None:
    for fmt in ("json", "msgpack"):
        codes = {case["code"] for case in INVALID if case["format"] == fmt}
        assert codes == {ErrorCode.BAD_MESSAGE, ErrorCode.UNKNOWN_TYPE, ErrorCode.INVALID_FIELD}, fmt


# ---- the generator --------------------------------------------------------------------------


def test_checked_in_vectors_match_the_generator() -> None:
    """Run ``python -m protocol.vectors.generate`` after a deliberate protocol change."""
    built = build()
    assert set(built) == set(VECTOR_FILES)
    for name, text in built.items():
        assert (VECTORS_DIR / name).read_text(encoding="utf-8") == text, f"{name} is stale"
