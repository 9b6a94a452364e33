"""MessagePack and JSON codecs for the two subprotocols.

``decode_client`` turns a frame into a typed client message or raises ``ProtocolError``
(never anything else). No string of a client message may contain U+0000 (SPEC section 1:
PostgreSQL cannot store it in a text column): a JSON frame is scanned for a ``\\u0000``
escape; a MessagePack frame is scanned for a 0x00 byte and, only when it has one (an int
may too), its message is checked. A frame without the marker pays one ``in`` scan.
``encode`` turns any message into the frame payload; the server encodes a broadcast once
per subprotocol and sends the same bytes to every member.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import msgspec

from protocol.errors import ErrorCode, ProtocolError
from protocol.messages import CLIENT_MESSAGE_TYPES, SERVER_MESSAGE_TYPES, ClientMessage, ServerMessage

MSGPACK_SUBPROTOCOL: Final = "cosession.v1.msgpack"
JSON_SUBPROTOCOL: Final = "cosession.v1.json"
SUBPROTOCOLS: Final = (MSGPACK_SUBPROTOCOL, JSON_SUBPROTOCOL)

Format = Literal["msgpack", "json"]


class _TypeOnly(msgspec.Struct):
    t: Any = None


_JSON_NUL: Final = "\\u0000"  # how JSON writes U+0000: the only way, raw control characters are malformed
_JSON_NUL_BYTES: Final = b"\\u0000"
_ESCAPED_BACKSLASH: Final = "\\\\"
_ESCAPED_BACKSLASH_BYTES: Final = b"\\\\"
_NUL_MESSAGE: Final = "strings must not contain U+0000"
_json_encoder: Final = msgspec.json.Encoder()


def json_holds_nul(text: bytes | str) -> bool:
    """Whether a JSON text holds a string with U+0000, i.e. a ``\\u0000`` escape that is
    not the tail of an escaped backslash (``\\\\u0000`` is the six characters ``\\u0000``).
    Dropping every ``\\\\`` pair first is exact: JSON has no other escape ending in a
    backslash, and the pairs are found left to right, as a parser reads them."""
    if isinstance(text, str):
        return _JSON_NUL in text and _JSON_NUL in text.replace(_ESCAPED_BACKSLASH, "")
    return _JSON_NUL_BYTES in text and _JSON_NUL_BYTES in text.replace(_ESCAPED_BACKSLASH_BYTES, b"")


def contains_nul(value: object) -> bool:
    """Whether any string in ``value`` (a message, or any msgspec-encodable value) holds
    U+0000: one JSON encode in C, then a scan of its bytes."""
    return json_holds_nul(_json_encoder.encode(value))


class Codec:
    """Encoder/decoder pair for one wire format. Stateless apart from msgspec buffers."""

    def __init__(self, fmt: Format) -> None:
        self.format: Format = fmt
        self.binary = fmt == "msgpack"
        self.subprotocol = MSGPACK_SUBPROTOCOL if self.binary else JSON_SUBPROTOCOL
        if self.binary:
            self._enc: msgspec.msgpack.Encoder | msgspec.json.Encoder = msgspec.msgpack.Encoder()
            self._client_dec: Any = msgspec.msgpack.Decoder(ClientMessage)
            self._server_dec: Any = msgspec.msgpack.Decoder(ServerMessage)
            self._type_dec: Any = msgspec.msgpack.Decoder(_TypeOnly)
            self._any_dec: Any = msgspec.msgpack.Decoder()
            self._json = False
        else:
            self._enc = msgspec.json.Encoder()
            self._client_dec = msgspec.json.Decoder(ClientMessage)
            self._server_dec = msgspec.json.Decoder(ServerMessage)
            self._type_dec = msgspec.json.Decoder(_TypeOnly)
            self._any_dec = msgspec.json.Decoder()
            self._json = True

    def encode(self, msg: object) -> bytes:
        return self._enc.encode(msg)

    def decode_client(self, data: bytes | str) -> ClientMessage:
        try:  # the hot path: no helper call in between
            msg: ClientMessage = self._client_dec.decode(data)
        except Exception as exc:
            raise self._refusal(exc, data, CLIENT_MESSAGE_TYPES) from None
        # U+0000 (SPEC section 1). JSON: the frame itself tells. MessagePack: a string
        # holding it has a 0x00 byte, as do many ints, so only then look at the message.
        if self._json:
            hit = (_JSON_NUL in data) if isinstance(data, str) else (_JSON_NUL_BYTES in data)
            if hit and json_holds_nul(data):
                raise ProtocolError(ErrorCode.INVALID_FIELD, _NUL_MESSAGE)
        elif (0 in data if isinstance(data, bytes) else "\x00" in data) and contains_nul(msg):
            raise ProtocolError(ErrorCode.INVALID_FIELD, _NUL_MESSAGE)
        return msg

    def decode_server(self, data: bytes | str) -> ServerMessage:
        return self._decode(self._server_dec, data, SERVER_MESSAGE_TYPES)  # type: ignore[no-any-return]

    def decode_any(self, data: bytes | str) -> Any:
        """Untyped decode (tools and tests); raises ``ProtocolError`` on bad bytes."""
        try:
            return self._any_dec.decode(data)
        except (msgspec.DecodeError, ValueError, TypeError, RecursionError, UnicodeError) as exc:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, str(exc)) from None

    def _decode(self, decoder: Any, data: bytes | str, known: frozenset[str]) -> Any:
        try:
            return decoder.decode(data)
        except Exception as exc:
            raise self._refusal(exc, data, known) from None

    def _refusal(self, exc: Exception, data: bytes | str, known: frozenset[str]) -> ProtocolError:
        """The ``ProtocolError`` for a decoder's exception (re-raised if unexpected)."""
        if isinstance(exc, msgspec.ValidationError):
            return self._classify(data, exc, known)
        if isinstance(exc, msgspec.DecodeError):
            return ProtocolError(ErrorCode.BAD_MESSAGE, f"undecodable frame: {exc}")
        if isinstance(exc, RecursionError):
            return ProtocolError(ErrorCode.BAD_MESSAGE, "frame is nested too deeply")
        if isinstance(exc, (ValueError, TypeError, UnicodeError)):  # pragma: no cover - defensive
            return ProtocolError(ErrorCode.BAD_MESSAGE, f"undecodable frame: {exc}")
        raise exc

    def _classify(self, data: bytes | str, exc: msgspec.ValidationError, known: frozenset[str]) -> ProtocolError:
        """Tell an unknown or missing `t` apart from a bad field of a known message."""
        try:
            head = self._type_dec.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return ProtocolError(ErrorCode.BAD_MESSAGE, "frame is not a map with a `t` field")
        except RecursionError:  # skipping a deeply nested field value
            return ProtocolError(ErrorCode.BAD_MESSAGE, "frame is nested too deeply")
        if not isinstance(head.t, str) or head.t not in known:
            return ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {head.t!r}")
        return ProtocolError(ErrorCode.INVALID_FIELD, str(exc))


MSGPACK: Final = Codec("msgpack")
JSON: Final = Codec("json")


def codec_for(subprotocol: str | None) -> Codec:
    return JSON if subprotocol == JSON_SUBPROTOCOL else MSGPACK
