"""MessagePack and JSON codecs for the two subprotocols.

``decode_client`` turns a frame into a typed client message or raises ``ProtocolError``
(never anything else). ``encode`` turns any message into the frame payload; the server
encodes a broadcast once per subprotocol and sends the same bytes to every member.
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
        else:
            self._enc = msgspec.json.Encoder()
            self._client_dec = msgspec.json.Decoder(ClientMessage)
            self._server_dec = msgspec.json.Decoder(ServerMessage)
            self._type_dec = msgspec.json.Decoder(_TypeOnly)
            self._any_dec = msgspec.json.Decoder()

    def encode(self, msg: object) -> bytes:
        return self._enc.encode(msg)

    def decode_client(self, data: bytes | str) -> ClientMessage:
        return self._decode(self._client_dec, data, CLIENT_MESSAGE_TYPES)  # type: ignore[no-any-return]

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
        except msgspec.ValidationError as exc:
            raise self._classify(data, exc, known) from None
        except msgspec.DecodeError as exc:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, f"undecodable frame: {exc}") from None
        except RecursionError:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "frame is nested too deeply") from None
        except (ValueError, TypeError, UnicodeError) as exc:  # pragma: no cover - defensive
            raise ProtocolError(ErrorCode.BAD_MESSAGE, f"undecodable frame: {exc}") from None

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
