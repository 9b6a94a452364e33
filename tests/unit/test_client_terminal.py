"""``cosession_client.terminal`` and ``explain``: what the terminal client prints is safe
and says what to do (pure functions; hypothesis for the escaping)."""

from __future__ import annotations

import io
import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cosession_client.cli import _printer, find_position, parse_currency, parse_price, render_cart, render_chat
from cosession_client.client import validate_op
from cosession_client.explain import explain_invalid
from cosession_client.terminal import CONTINUATION, display_width, fold, is_unsafe, json_printable, printable
from protocol.messages import CartAdd, CartLine, ChatMessage, MemberInfo, Product, RoomState

# Characters a terminal acts on, or that reorder or break what it shows.
HOSTILE = (
    [chr(c) for c in range(0x20)]
    + ["\x7f"]
    + [chr(c) for c in range(0x80, 0xA0)]
    + ["\u061c", "\u200e", "\u200f", "\u2028", "\u2029"]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
)
ATTACK = "\x1b]0;pwned\x07\x1b[2J\nSYSTEM: you were logged out\r\u202etxt.exe\u2066"

texts = st.text(alphabet=st.one_of(st.characters(), st.sampled_from(HOSTILE)), max_size=80)


@given(texts)
def test_printable_output_never_holds_a_control_character(text: str) -> None:
    shown = printable(text)
    assert not any(is_unsafe(ch) for ch in shown)
    assert not any(ch in shown for ch in HOSTILE)
    assert len(shown.splitlines()) <= 1
    shown.encode("utf-8")  # no lone surrogate: printing it cannot fail


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=80))
def test_printable_keeps_ordinary_text(text: str) -> None:
    if not any(is_unsafe(ch) for ch in text):
        assert printable(text) == text


@given(st.recursive(st.none() | texts, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner)))
def test_json_printable_is_the_same_json_value_and_safe(value: object) -> None:
    line = json_printable(json.dumps(value, ensure_ascii=False))
    assert not any(is_unsafe(ch) for ch in line)
    assert json.loads(line) == value


def test_printable_shows_what_was_there() -> None:
    assert printable("a\x1b[2Jb\nc\rd\x07") == "a␛[2Jb␊c␍d␇"
    assert printable("x\u202ey\x85") == "x<U+202E>y<U+0085>"
    assert printable("family 👨\u200d👩\u200d👧 ok") == "family 👨\u200d👩\u200d👧 ok"  # ZWJ stays


def test_renderers_keep_hostile_text_on_one_line_once_printed() -> None:
    state = RoomState(
        name=ATTACK,
        members={"m1": MemberInfo(name=ATTACK, role="member")},
        cart=[CartLine(line=4, product=Product(id="p", name=ATTACK, price=100, currency="EUR"), qty=2, added_by="m1")],
        chat=[ChatMessage(id=5, by="m1", text=ATTACK, ts=0)],
    )
    for line in [*render_cart(state), *render_chat(state)]:
        shown = printable(line)
        assert "\x1b" not in shown and "\x07" not in shown and len(shown.splitlines()) == 1


def test_cart_lines_show_position_unit_price_and_total() -> None:
    state = RoomState(
        cart=[
            CartLine(
                line=4, product=Product(id="a", name="Trail shoe", price=8990, currency="EUR"), qty=1, added_by=""
            ),
            CartLine(line=7, product=Product(id="b", name="Sock", price=150, currency="EUR"), qty=3, added_by=""),
        ]
    )
    lines = render_cart(state)
    assert lines[1].split()[:4] == ["1.", "1", "x", "Trail"]
    assert lines[2].split()[0] == "2." and "1.50 EUR each = 4.50 EUR" in lines[2]
    assert lines[-1].strip() == "total: 94.40 EUR"
    assert find_position(state, "2").line == 7 and find_position(state, "#1").line == 4
    with pytest.raises(ValueError, match=r"no cart line 3; the cart has lines 1 to 2 \(`cart` lists them\)"):
        find_position(state, "3")
    with pytest.raises(ValueError, match="the cart is empty"):
        find_position(RoomState(), "3")


def test_validation_errors_say_what_to_type() -> None:
    with pytest.raises(msgspec.ValidationError) as caught:
        validate_op(CartAdd(product=Product(id="p", name="n", price=1, currency="EURO")))
    assert explain_invalid(str(caught.value)) == "currency must be a 3-letter code like EUR"
    assert "Expected" not in explain_invalid("Expected `int` <= 999 - at `$.qty`")
    assert explain_invalid("Expected `str` of length <= 100 - at `$.name`") == "a name must be 1 to 100 characters"
    with pytest.raises(ValueError, match="currency must be a 3-letter code like EUR"):
        parse_currency("EURO")
    with pytest.raises(ValueError, match=r"price must be an amount like 19\.99"):
        parse_price("1e999")


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300).map(printable), st.integers(20, 160))
def test_fold_marks_every_continuation_and_keeps_every_character(text: str, width: int) -> None:
    lines = fold(text, width)
    assert all(display_width(line) <= width for line in lines)
    assert all(line.startswith(CONTINUATION) for line in lines[1:])
    rebuilt = lines[0] + "".join(line.removeprefix(CONTINUATION) for line in lines[1:])
    assert rebuilt.replace(" ", "") == text.replace(" ", "")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_member_cannot_start_a_terminal_line_by_padding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    screen = _Tty()
    _printer(screen)("[12] Eve: hi" + " " * 68 + "SYSTEM: you were logged out")
    lines = screen.getvalue().splitlines()
    assert len(lines) == 2 and all(display_width(line) <= 80 for line in lines)
    assert lines[1].startswith(CONTINUATION) and "SYSTEM" in lines[1]
