"""Tolerant decoding of server frames, as SPEC section 12 asks of clients.

``protocol.codec`` is strict (it is shared with the server and its tests): an unknown
field in a server message fails the decode. A newer v1 server may add optional fields,
so when the strict decode fails this module decodes the frame untyped, drops every map
key the message's declaration does not know (recursively, following the declarations),
and converts the rest. Unknown message types still fail: the caller ignores them.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec
import msgspec.inspect as mi

from protocol.codec import Codec
from protocol.errors import ErrorCode, ProtocolError
from protocol.messages import ServerMessage

_SERVER_TYPE: Final = mi.type_info(ServerMessage)


def _fields(struct: mi.StructType) -> dict[str, mi.Type]:
    return {f.encode_name: f.type for f in struct.fields}


def _struct_for(union: mi.UnionType, value: dict[Any, Any]) -> mi.StructType | None:
    """The member of a union a map decodes as: by tag for tagged structs."""
    for option in union.types:
        if isinstance(option, mi.StructType):
            if option.tag_field is None:
                return option
            if value.get(option.tag_field) == option.tag:
                return option
    return None


def prune(value: Any, info: mi.Type) -> Any:
    """``value`` (untyped) without the map keys ``info`` does not declare."""
    if isinstance(info, mi.UnionType):
        if isinstance(value, dict):
            struct = _struct_for(info, value)
            return value if struct is None else prune(value, struct)
        if isinstance(value, list):
            for option in info.types:
                if isinstance(option, mi.ListType):
                    return prune(value, option)
        return value
    if isinstance(info, mi.StructType) and isinstance(value, dict):
        known = _fields(info)
        kept: dict[Any, Any] = {}
        for key, item in value.items():
            if key == info.tag_field:
                kept[key] = item
            elif key in known:
                kept[key] = prune(item, known[key])
        return kept
    if isinstance(info, mi.ListType) and isinstance(value, list):
        return [prune(item, info.item_type) for item in value]
    if isinstance(info, mi.DictType) and isinstance(value, dict):
        return {key: prune(item, info.value_type) for key, item in value.items()}
    return value


def decode_server(codec: Codec, frame: bytes | str) -> ServerMessage:
    """Strict decode, falling back to a decode that ignores unknown fields.

    Raises ``ProtocolError`` for undecodable bytes and unknown message types.
    """
    try:
        return codec.decode_server(frame)
    except ProtocolError as strict_error:
        raw = codec.decode_any(frame)
        try:
            message: ServerMessage = msgspec.convert(prune(raw, _SERVER_TYPE), ServerMessage)
        except msgspec.ValidationError:
            raise ProtocolError(ErrorCode.INVALID_FIELD, strict_error.message) from None
        return message
