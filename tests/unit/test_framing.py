"""Server frames built by cosession.gateway.framing, decoded by websockets' own parsers."""

from __future__ import annotations

import pytest
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.protocol import State
from websockets.streams import StreamReader
from websockets.uri import parse_uri

from cosession.gateway.framing import (
    MAX_CLOSE_REASON_BYTES,
    OutFrame,
    close_frame,
    frame_header,
    truncate_close_reason,
)
from protocol.errors import CloseCode

LENGTHS = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20]


def parse_one(data: bytes) -> Frame:
    """Parse exactly one unmasked frame from ``data`` with websockets' frame parser."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False, max_size=None)
    try:
        next(parser)
    except StopIteration as done:
        frame: Frame = done.value
    else:  # pragma: no cover - the parser wanted more bytes
        raise AssertionError("incomplete frame")
    assert not reader.buffer, "bytes left after the frame"
    return frame


def open_client() -> ClientProtocol:
    """A client-side websockets state machine, past the handshake."""
    return ClientProtocol(parse_uri("ws://localhost/v1/ws"), state=State.OPEN, max_size=None)


def payload_of(length: int) -> bytes:
    return bytes(i % 251 for i in range(length)) if length < 4096 else b"\xa5" * length


@pytest.mark.parametrize("length", LENGTHS)
def test_header_uses_shortest_length_encoding(length: int) -> None:
    header = frame_header(length, text=False)
    expected = 2 if length < 126 else 4 if length < 65536 else 10
    assert len(header) == expected
    assert header[0] == 0x82  # FIN, RSV clear, binary
    assert header[1] & 0x80 == 0  # not masked
    assert frame_header(length, text=True)[0] == 0x81


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("text", [False, True], ids=["binary", "text"])
def test_frame_parser_decodes_wire(length: int, text: bool) -> None:
    payload = b"x" * length if text else payload_of(length)
    frame = parse_one(OutFrame(payload, text=text).wire)
    assert frame.opcode is (Opcode.TEXT if text else Opcode.BINARY)
    assert frame.fin
    assert not (frame.rsv1 or frame.rsv2 or frame.rsv3)
    assert bytes(frame.data) == payload


@pytest.mark.parametrize("length", LENGTHS)
def test_client_protocol_receives_wire(length: int) -> None:
    client = open_client()
    binary = OutFrame(payload_of(length))
    text = OutFrame(("é" * (length // 2)).encode(), text=True)
    client.receive_data(binary.wire + text.wire)
    assert client.parser_exc is None
    events = client.events_received()
    assert [type(e) for e in events] == [Frame, Frame]
    first, second = events
    assert isinstance(first, Frame) and isinstance(second, Frame)
    assert first.opcode is Opcode.BINARY and bytes(first.data) == binary.payload
    assert second.opcode is Opcode.TEXT and bytes(second.data).decode() == "é" * (length // 2)


def test_wire_is_cached_and_payload_kept() -> None:
    payload = b"hello"
    frame = OutFrame(payload)
    assert frame.payload is payload
    assert not frame.text
    assert frame.wire is frame.wire
    assert frame.wire == b"\x82\x05hello"
    assert len(frame) == 5


def test_bytes_like_payload_is_copied_to_bytes() -> None:
    frame = OutFrame(bytearray(b"abc"), text=True)
    assert type(frame.payload) is bytes
    assert frame.wire == b"\x81\x03abc"


def test_out_frame_is_read_only() -> None:
    frame = OutFrame(b"abc")
    with pytest.raises(AttributeError):
        frame.payload = b"other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        frame.extra = 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("length", [-1, 1 << 63])
def test_header_rejects_impossible_lengths(length: int) -> None:
    with pytest.raises(ValueError):
        frame_header(length, text=False)


def test_close_frame_decodes() -> None:
    data = close_frame(CloseCode.SLOW_CONSUMER, "slow consumer")
    frame = parse_one(data)
    assert frame.opcode is Opcode.CLOSE and frame.fin
    assert Close.parse(bytes(frame.data)) == Close(4008, "slow consumer")

    client = open_client()
    client.receive_data(data)
    assert client.parser_exc is None
    assert client.close_rcvd == Close(4008, "slow consumer")
    assert client.state is State.CLOSING


def test_close_frame_without_reason() -> None:
    assert close_frame(1000) == b"\x88\x02\x03\xe8"


@pytest.mark.parametrize("reason", ["a" * 200, "é" * 100, "€" * 60, "🛒" * 40, "x" + "🛒" * 40])
def test_close_reason_truncated_to_valid_utf8(reason: str) -> None:
    data = close_frame(4000, reason)
    frame = parse_one(data)
    assert len(frame.data) <= 125
    close = Close.parse(bytes(frame.data))  # raises on invalid UTF-8
    assert reason.startswith(close.reason)
    assert len(close.reason.encode()) <= MAX_CLOSE_REASON_BYTES
    # Nothing was cut that would still have fitted.
    assert len(close.reason.encode()) > MAX_CLOSE_REASON_BYTES - 4


def test_truncate_close_reason() -> None:
    assert truncate_close_reason("short") == "short"
    assert truncate_close_reason("a" * 123) == "a" * 123
    assert truncate_close_reason("\ud800x") == "?x"


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 2999, 5000])
def test_close_frame_rejects_codes_not_allowed_on_the_wire(code: int) -> None:
    with pytest.raises(ValueError):
        close_frame(code, "")


@pytest.mark.parametrize("code", [1000, 1001, 1011, 1012, 3000, 4008, 4999])
def test_close_frame_accepts_sendable_codes(code: int) -> None:
    assert Close.parse(bytes(parse_one(close_frame(code, "r")).data)) == Close(code, "r")
