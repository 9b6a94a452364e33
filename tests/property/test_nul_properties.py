"""U+0000 in any string of any client message is ``invalid_field`` (SPEC section 1).

PostgreSQL cannot store U+0000 in a text column, so the decoder refuses it everywhere a
client can put a string. Hypothesis picks the string, where the NUL goes in it, and the
field; every string field of every client message is covered by the templates below.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.codec import JSON, MSGPACK, contains_nul, json_holds_nul
from protocol.errors import ErrorCode, ProtocolError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_PRODUCT = {
    "id": "sku-1",
    "name": "Shirt",
    "price": 2560,  # 0x0a00: the MessagePack frame has a 0x00 byte even without a NUL string
    "currency": "EUR",
    "image": "https://cdn/x.jpg",
    "url": "https://shop/x",
    "variant": "m",
}

# Every client message with every string field present. ``t``, enums and the currency
# (a pattern of capital letters) are left out: a NUL there fails their own checks.
TEMPLATES: list[dict[str, Any]] = [
    {
        "t": "hello",
        "token": "v1.abc.def",
        "resume": {"epoch": "e1", "seq": 0},
        "client": "cosession-js",
        "version": "0.1",
        "device": "phone",
    },
    {"t": "op", "ref": "r1", "op": {"t": "cart.add", "product": _PRODUCT, "qty": 1}},
    {"t": "op", "ref": "r1", "op": {"t": "cart.remove", "line": 1}},
    {"t": "op", "ref": "r1", "op": {"t": "chat", "text": "hi", "product": _PRODUCT, "reply_to": 1}},
    {"t": "op", "ref": "r1", "op": {"t": "react", "msg": 1, "emoji": "x", "on": True}},
    {"t": "op", "ref": "r1", "op": {"t": "room.rename", "name": "Trip"}},
    {"t": "op", "ref": "r1", "op": {"t": "member.kick", "member": "m_1"}},
    {"t": "focus", "product": _PRODUCT},
    {"t": "follow", "member": "m_1"},
]
_NOT_FREE_TEXT = {"t", "device", "currency"}


def string_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() if k not in _NOT_FREE_TEXT for p in string_paths(v, (*path, k))]
    return [path] if isinstance(value, str) else []


CASES = [(i, path) for i, template in enumerate(TEMPLATES) for path in string_paths(template)]


def test_templates_decode_as_they_are() -> None:
    for template in TEMPLATES:
        for codec, frame in ((JSON, json.dumps(template)), (MSGPACK, msgspec.msgpack.encode(template))):
            codec.decode_client(frame)


def test_every_string_field_is_covered() -> None:
    fields = {path[-1] for _, path in CASES}
    assert {"token", "epoch", "client", "version", "ref", "id", "name", "image", "url", "variant"} <= fields
    assert {"text", "emoji", "member"} <= fields


@pytest.mark.parametrize(("index", "path"), CASES, ids=[f"{TEMPLATES[i]['t']}:{'.'.join(p)}" for i, p in CASES])
@SETTINGS
@given(data=st.data())
def test_nul_in_any_string_field_is_invalid_field(index: int, path: tuple[str, ...], data: st.DataObject) -> None:
    message = copy.deepcopy(TEMPLATES[index])
    holder = message
    for key in path[:-1]:
        holder = holder[key]
    old: str = holder[path[-1]]
    cut = data.draw(st.integers(0, len(old)))
    holder[path[-1]] = old[:cut] + "\x00" + old[cut:]
    for codec, frame in (
        (JSON, json.dumps(message)),
        (JSON, json.dumps(message).encode()),
        (MSGPACK, msgspec.msgpack.encode(message)),
    ):
        with pytest.raises(ProtocolError) as refused:
            codec.decode_client(frame)  # type: ignore[arg-type]
        assert refused.value.code == ErrorCode.INVALID_FIELD


_no_nul = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@SETTINGS
@given(st.text(max_size=40))
def test_json_holds_nul_is_exact(text: str) -> None:
    """A literal backslash before ``u0000`` (``"\\\\u0000"``) is not a NUL."""
    for encoded in (json.dumps(text), json.dumps(text, ensure_ascii=False), msgspec.json.encode(text).decode()):
        assert json_holds_nul(encoded) == ("\x00" in text)
        assert json_holds_nul(encoded.encode()) == ("\x00" in text)
    assert contains_nul({"k": [text]}) == ("\x00" in text)


@SETTINGS
@given(_no_nul)
def test_text_without_nul_decodes_in_both_formats(text: str) -> None:
    message = {"t": "op", "ref": "r1", "op": {"t": "chat", "text": text or "x", "product": _PRODUCT}}
    for codec, frame in ((JSON, json.dumps(message)), (MSGPACK, msgspec.msgpack.encode(message))):
        codec.decode_client(frame)  # type: ignore[arg-type]


def test_backslash_u0000_text_is_allowed() -> None:
    frame = json.dumps({"t": "op", "ref": "r1", "op": {"t": "chat", "text": "C:\\u0000 is fine"}})
    assert "\\\\u0000" in frame
    JSON.decode_client(frame)
