"""Make server-provided text safe to print on a terminal (pure functions).

Anything a room member controls (names, chat, product and room names) and anything the
server says (error messages, close reasons) reaches ``cosession-client``'s terminal. Raw,
such text could carry escape sequences (retitle or clear the terminal, move the cursor,
recolour), line breaks or a carriage return (fake a line from the server or another
member), or bidirectional overrides (show text in a different order than it is read).

``printable`` replaces each such character with a visible stand-in, so the text keeps
its length in characters and stays on one line:

* C0 controls U+0000..U+001F (tab and newline included) → their Control Pictures
  (``"\\x1b"`` → ``"␛"``, ``"\\n"`` → ``"␊"``), DEL → ``"␡"``;
* C1 controls U+0080..U+009F (NEL, CSI ...), the line and paragraph separators
  U+2028/U+2029, the bidi formatting characters (U+061C, U+200E/F, U+202A..U+202E,
  U+2066..U+2069) and lone surrogates → ``"<U+XXXX>"``.

Everything else, zero-width joiners of emoji sequences included, passes unchanged.

A long line that the terminal wraps could still put a member's words at the start of a
screen line ("...padding...SYSTEM: log in again"); ``fold`` wraps lines itself for a
terminal of known width, and starts every continuation with ``CONTINUATION``, which no
line of the client's own begins with.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["CONTINUATION", "UNSAFE", "display_width", "fold", "is_unsafe", "json_printable", "printable"]

#: What a continuation line starts with.
CONTINUATION = "   \u21b3 "  # "   ↳ "

#: Every character ``printable`` replaces.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def is_unsafe(ch: str) -> bool:
    """True for a character ``printable`` would replace."""
    return UNSAFE.fullmatch(ch) is not None


def _stand_in(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ␀ ... ␟
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def printable(text: str) -> str:
    """``text`` with every terminal-unsafe character replaced by a visible stand-in."""
    return UNSAFE.sub(_stand_in, text)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_printable(line: str) -> str:
    """A JSON text (from ``json.dumps``) with the unsafe characters left inside its strings
    written as ``\\uXXXX`` escapes: the same JSON value, safe to print.

    ``json.dumps`` already escapes C0 controls; with ``ensure_ascii=False`` it leaves C1
    controls, U+2028/U+2029 and bidi overrides raw. Outside strings JSON text is ASCII
    without controls, so every match is inside a string, where ``\\uXXXX`` means the same.
    """
    return UNSAFE.sub(_json_escape, line)


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes (wide East Asian characters and emoji count two)."""
    return sum(_char_width(ch) for ch in text)


def fold(text: str, width: int) -> list[str]:
    """``text`` (already ``printable``) cut into lines of at most ``width`` columns, at a
    space where one is near, each line after the first starting with ``CONTINUATION``."""
    room = width - display_width(CONTINUATION)
    if room < 8 or display_width(text) <= width:
        return [text]
    lines: list[str] = []
    line, col, start = "", 0, 0  # start: where this line's own text begins
    for ch in text:
        w = _char_width(ch)
        if col + w > width and col > start:
            cut = line.rfind(" ", start)
            tail = line[cut + 1 :] if cut > start else ""
            if cut > start and display_width(CONTINUATION + tail) + w <= width:
                lines.append(line[:cut])
                line = CONTINUATION + tail
            else:
                lines.append(line)
                line = CONTINUATION
            start = len(CONTINUATION)
            col = display_width(line)
        line += ch
        col += w
    lines.append(line)
    return lines
