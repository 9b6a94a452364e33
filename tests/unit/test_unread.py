"""``vectors/unread.json`` against ``protocol/unread.py`` (the JS core runs the same file)."""

from __future__ import annotations

import json

import msgspec

from protocol.messages import Event, RoomState, Unread
from protocol.unread import clamp_cursor, count_unread, is_zero
from protocol.vectors import VECTORS_DIR


def test_unread_vectors() -> None:
    cases = json.loads((VECTORS_DIR / "unread.json").read_text(encoding="utf-8"))
    assert len(cases) >= 5
    for case in cases:
        events = msgspec.convert(case["events"], list[Event])
        unread = count_unread(RoomState(), events, case["member"])
        assert unread == msgspec.convert(case["unread"], Unread), case["name"]


def test_cursor_clamp_and_zero() -> None:
    assert clamp_cursor(2**53, 40) == 40
    assert clamp_cursor(-3, 40) == 0
    assert clamp_cursor(12, 40) == 12
    assert is_zero(Unread()) and not is_zero(Unread(questions=1))
