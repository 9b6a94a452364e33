"""Server-to-client WebSocket framing, done once per message.

A broadcast is encoded once (msgspec) and framed once: :class:`OutFrame` computes the
complete unmasked frame (RFC 6455 §5.2) on first use and caches it, so fan-out writes
the same ``bytes`` object to every member's transport. Server frames are never masked,
and this module never sets RSV bits: the direct path does not negotiate
permessage-deflate (see docs/backpressure.md).

Pure functions and a value class; no I/O.
"""

from __future__ import annotations

import struct
from typing import Final

__all__ = ["MAX_CLOSE_REASON_BYTES", "OutFrame", "close_frame", "frame_header", "truncate_close_reason"]

_FIN: Final = 0x80
_OP_TEXT: Final = 0x1
_OP_BINARY: Final = 0x2
_OP_CLOSE: Final = 0x8

_HEAD_TEXT: Final = _FIN | _OP_TEXT
_HEAD_BINARY: Final = _FIN | _OP_BINARY

_LEN16: Final = struct.Struct("!BBH")
_LEN64: Final = struct.Struct("!BBQ")
_CODE: Final = struct.Struct("!H")

#: A close frame's payload is at most 125 bytes: a 2-byte code and up to 123 bytes of reason.
MAX_CLOSE_REASON_BYTES: Final = 123

# Codes that may appear in a close frame (RFC 6455 §7.4, as websockets accepts them).
_WIRE_CLOSE_CODES: Final = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})


def frame_header(length: int, text: bool) -> bytes:
    """The header of an unfragmented, unmasked data frame carrying ``length`` payload bytes.

    FIN is set, RSV1-3 are clear, the opcode is 0x1 (text) or 0x2 (binary), and the length
    uses the shortest of the 7-, 16- and 64-bit encodings, as RFC 6455 requires.
    """
    head = _HEAD_TEXT if text else _HEAD_BINARY
    if length < 0:
        raise ValueError(f"negative frame length: {length}")
    if length < 126:
        return bytes((head, length))
    if length < 0x10000:
        return _LEN16.pack(head, 126, length)
    if length < 0x8000000000000000:
        return _LEN64.pack(head, 127, length)
    raise ValueError(f"frame length out of range: {length}")


class OutFrame:
    """One outgoing WebSocket message: a payload and its frame type.

    ``wire`` is the complete frame (header + payload), built on first access and cached,
    so a broadcast frames its payload once whatever the number of recipients. Treat
    instances as immutable: ``payload`` and ``text`` are read-only. For a text frame the
    payload must already be valid UTF-8 (it comes from an encoder; it is not re-checked).
    """

    __slots__ = ("_payload", "_text", "_wire")

    def __init__(self, payload: bytes | bytearray | memoryview, text: bool = False) -> None:
        self._payload: bytes = payload if type(payload) is bytes else bytes(payload)
        self._text = text
        self._wire: bytes | None = None

    @property
    def payload(self) -> bytes:
        return self._payload

    @property
    def text(self) -> bool:
        return self._text

    @property
    def wire(self) -> bytes:
        """The complete server-to-client frame, computed once."""
        wire = self._wire
        if wire is None:
            wire = self._wire = frame_header(len(self._payload), self._text) + self._payload
        return wire

    def __len__(self) -> int:
        return len(self._payload)

    def __repr__(self) -> str:
        kind = "text" if self._text else "binary"
        return f"OutFrame({kind}, {len(self._payload)} bytes)"


def truncate_close_reason(reason: str) -> str:
    """``reason`` cut to at most 123 bytes of UTF-8, never in the middle of a character.

    Characters that cannot be encoded (lone surrogates) become ``?``.
    """
    data = reason.encode("utf-8", "replace")
    if len(data) <= MAX_CLOSE_REASON_BYTES:
        return data.decode("utf-8")
    # Dropping an incomplete trailing sequence keeps the result valid UTF-8.
    return data[:MAX_CLOSE_REASON_BYTES].decode("utf-8", "ignore")


def close_frame(code: int, reason: str = "") -> bytes:
    """A complete unmasked close frame with ``code`` and ``reason`` (truncated to fit).

    Raises ``ValueError`` for a code that may not be sent on the wire (1004-1006, 1015,
    anything outside 1000-1014 and 3000-4999).
    """
    if code not in _WIRE_CLOSE_CODES and not 3000 <= code < 5000:
        raise ValueError(f"invalid close code: {code}")
    payload = _CODE.pack(code) + truncate_close_reason(reason).encode("utf-8")
    return bytes((_FIN | _OP_CLOSE, len(payload))) + payload
